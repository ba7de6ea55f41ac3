// Non-variadic libcurl wrappers for Swift (curl_easy_setopt is variadic), used by ChaosKit's
// Docker Engine client to talk HTTP/1.1 over a unix socket.
#ifndef HAC_CURL_SHIM_H
#define HAC_CURL_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The size of the error buffers passed to the functions below (libcurl's CURL_ERROR_SIZE).
#define HAC_CURL_ERROR_SIZE 256

/// A malloc'd response body; release with hac_buffer_free.
typedef struct hac_buffer {
    char *data;
    size_t len;
} hac_buffer;

/// Frees `buffer->data` and zeroes the buffer.
void hac_buffer_free(hac_buffer *buffer);

/// One whole request over the unix socket `socket_path`: `method` ("GET", "POST", "DELETE"...)
/// on `url` ("http://localhost/v1.41/..."), with an optional body (`body` may be NULL; a POST
/// always sends a body, possibly empty) of type `content_type` (may be NULL). The response body
/// is collected into `out` (which the caller frees), the HTTP status into `status_out`.
/// `timeout_ms` bounds the whole transfer (0 = none). Returns 0 (CURLE_OK) or the curl error
/// code, with a message in `errbuf` (HAC_CURL_ERROR_SIZE bytes).
int hac_curl_request(const char *socket_path, const char *method, const char *url,
                     const char *content_type, const void *body, size_t body_len,
                     long timeout_ms, long *status_out, hac_buffer *out, char *errbuf);

/// A streaming GET over the unix socket: every chunk of the response body is handed to
/// `on_data` as it arrives; `should_stop` is polled at least every 50 ms, also while no data
/// arrives, and a non-zero answer ends the transfer (the function then returns 0).
/// Returns 0 when the server ended the response or the caller stopped it, else the curl error
/// code with a message in `errbuf` (HAC_CURL_ERROR_SIZE bytes). `status_out` gets the HTTP
/// status as soon as it is known (0 before).
int hac_curl_stream(const char *socket_path, const char *url, long *status_out,
                    void (*on_data)(void *ctx, const char *data, size_t len),
                    int (*should_stop)(void *ctx), void *ctx, char *errbuf);

#ifdef __cplusplus
}
#endif

#endif
