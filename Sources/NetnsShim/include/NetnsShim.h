#ifndef HACHAOS_NETNS_SHIM_H
#define HACHAOS_NETNS_SHIM_H

#include <spawn.h>
#include <sys/types.h>

/// `posix_spawn` of `path` into the network namespace that `netns_fd` refers to, as after
/// `nsenter --net`: a new thread joins the namespace (`setns(2)` moves only the calling
/// thread, and a child inherits its thread's namespace), spawns, and is joined before this
/// returns, so no other code ever runs in the namespace and no thread is left there.
///
/// Returns 0 and sets `*pid`, or an errno value: `pthread_create`'s, `setns`'s or
/// `posix_spawn`'s (never hangs when a thread cannot be made).
int hac_posix_spawn_in_netns(
    int netns_fd, pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *file_actions, const posix_spawnattr_t *attributes,
    char *const argv[], char *const envp[]);

#endif
