#include "CurlShim.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(HAC_CURL_ERROR_SIZE >= CURL_ERROR_SIZE, "error buffer too small");

static pthread_once_t hac_init_once = PTHREAD_ONCE_INIT;
static CURLcode hac_init_result = CURLE_OK;

static void hac_global_init(void) { hac_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int hac_init(char *errbuf) {
    pthread_once(&hac_init_once, hac_global_init);
    if (hac_init_result != CURLE_OK && errbuf) {
        strncpy(errbuf, curl_easy_strerror(hac_init_result), HAC_CURL_ERROR_SIZE - 1);
        errbuf[HAC_CURL_ERROR_SIZE - 1] = 0;
    }
    return hac_init_result;
}

static void hac_set_error(char *errbuf, CURLcode code) {
    // curl leaves errbuf empty for some errors: fall back on the generic text.
    if (errbuf && errbuf[0] == 0) {
        strncpy(errbuf, curl_easy_strerror(code), HAC_CURL_ERROR_SIZE - 1);
        errbuf[HAC_CURL_ERROR_SIZE - 1] = 0;
    }
}

void hac_buffer_free(hac_buffer *buffer) {
    if (!buffer) return;
    free(buffer->data);
    buffer->data = NULL;
    buffer->len = 0;
}

typedef struct {
    hac_buffer *out;
    size_t capacity;
} hac_collect;

static size_t hac_collect_write(char *data, size_t size, size_t nmemb, void *userp) {
    hac_collect *collect = userp;
    size_t n = size * nmemb;
    if (collect->out->len + n + 1 > collect->capacity) {
        size_t capacity = collect->capacity ? collect->capacity : 4096;
        while (collect->out->len + n + 1 > capacity) capacity *= 2;
        char *grown = realloc(collect->out->data, capacity);
        if (!grown) return 0;  // aborts the transfer with CURLE_WRITE_ERROR
        collect->out->data = grown;
        collect->capacity = capacity;
    }
    memcpy(collect->out->data + collect->out->len, data, n);
    collect->out->len += n;
    collect->out->data[collect->out->len] = 0;
    return n;
}

/// Options common to both calls.
static struct curl_slist *hac_common(CURL *curl, const char *socket_path, const char *url, char *errbuf) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    // No "Expect: 100-continue" round trip for large bodies (image tars).
    return curl_slist_append(NULL, "Expect:");
}

int hac_curl_request(const char *socket_path, const char *method, const char *url,
                     const char *content_type, const void *body, size_t body_len,
                     long timeout_ms, long *status_out, hac_buffer *out, char *errbuf) {
    if (errbuf) errbuf[0] = 0;
    *status_out = 0;
    out->data = NULL;
    out->len = 0;
    if (hac_init(errbuf) != CURLE_OK) return (int)hac_init_result;
    CURL *curl = curl_easy_init();
    if (!curl) {
        hac_set_error(errbuf, CURLE_FAILED_INIT);
        return CURLE_FAILED_INIT;
    }
    hac_collect collect = {out, 0};
    struct curl_slist *headers = hac_common(curl, socket_path, url, errbuf);
    if (content_type) {
        char line[256];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hac_collect_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collect);
    if (timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    int is_post = strcmp(method, "POST") == 0;
    if (body || is_post) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (strcmp(method, "GET") != 0 && !is_post) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    *status_out = status;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) {
        hac_set_error(errbuf, code);
        hac_buffer_free(out);
    }
    return (int)code;
}

typedef struct {
    void (*on_data)(void *ctx, const char *data, size_t len);
    void *ctx;
    CURL *curl;
    long *status_out;
} hac_stream_sink;

static size_t hac_stream_write(char *data, size_t size, size_t nmemb, void *userp) {
    hac_stream_sink *sink = userp;
    size_t n = size * nmemb;
    // The status is known once the body starts: publish it before the first chunk.
    if (*sink->status_out == 0) curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, sink->status_out);
    if (n) sink->on_data(sink->ctx, data, n);
    return n;
}

int hac_curl_stream(const char *socket_path, const char *url, long *status_out,
                    void (*on_data)(void *ctx, const char *data, size_t len),
                    int (*should_stop)(void *ctx), void *ctx, char *errbuf) {
    if (errbuf) errbuf[0] = 0;
    *status_out = 0;
    if (hac_init(errbuf) != CURLE_OK) return (int)hac_init_result;
    CURL *curl = curl_easy_init();
    CURLM *multi = curl_multi_init();
    if (!curl || !multi) {
        if (curl) curl_easy_cleanup(curl);
        if (multi) curl_multi_cleanup(multi);
        hac_set_error(errbuf, CURLE_FAILED_INIT);
        return CURLE_FAILED_INIT;
    }
    hac_stream_sink sink = {on_data, ctx, curl, status_out};
    struct curl_slist *headers = hac_common(curl, socket_path, url, errbuf);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hac_stream_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_multi_add_handle(multi, curl);

    // The xferinfo callback only runs about once a second on an idle connection, so the
    // transfer is driven by hand: perform, then wait at most 50 ms, then ask should_stop.
    CURLcode result = CURLE_OK;
    int running = 1;
    while (running) {
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc == CURLM_OK && running) mc = curl_multi_poll(multi, NULL, 0, 50, NULL);
        if (mc != CURLM_OK) {
            if (errbuf) {
                strncpy(errbuf, curl_multi_strerror(mc), HAC_CURL_ERROR_SIZE - 1);
                errbuf[HAC_CURL_ERROR_SIZE - 1] = 0;
            }
            result = CURLE_RECV_ERROR;
            break;
        }
        if (*status_out == 0) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_out);
        if (should_stop(ctx)) break;  // stopped by the caller: not an error
    }
    CURLMsg *msg;
    int queued;
    while ((msg = curl_multi_info_read(multi, &queued))) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl) result = msg->data.result;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_out);
    curl_multi_remove_handle(multi, curl);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_multi_cleanup(multi);
    if (result != CURLE_OK) hac_set_error(errbuf, result);
    return (int)result;
}
