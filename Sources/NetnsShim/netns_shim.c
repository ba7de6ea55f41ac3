#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include "NetnsShim.h"

struct hac_spawn_request {
    int netns_fd;
    pid_t pid;
    const char *path;
    const posix_spawn_file_actions_t *file_actions;
    const posix_spawnattr_t *attributes;
    char *const *argv;
    char *const *envp;
    int result;
};

static void *hac_spawn_thread(void *argument) {
    struct hac_spawn_request *request = argument;
    if (setns(request->netns_fd, CLONE_NEWNET) != 0) {
        request->result = errno;
        return NULL;
    }
    request->result = posix_spawn(&request->pid, request->path, request->file_actions, request->attributes,
                                  request->argv, request->envp);
    return NULL;
}

int hac_posix_spawn_in_netns(
    int netns_fd, pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *file_actions, const posix_spawnattr_t *attributes,
    char *const argv[], char *const envp[]) {
    struct hac_spawn_request request = {
        .netns_fd = netns_fd, .pid = 0, .path = path, .file_actions = file_actions,
        .attributes = attributes, .argv = argv, .envp = envp, .result = 0,
    };
    pthread_t thread;
    int created = pthread_create(&thread, NULL, hac_spawn_thread, &request);
    if (created != 0) return created;
    int joined = pthread_join(thread, NULL);
    if (joined != 0) return joined;
    if (request.result == 0) *pid = request.pid;
    return request.result;
}
