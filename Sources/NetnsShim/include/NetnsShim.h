#ifndef HACHAOS_NETNS_SHIM_H
#define HACHAOS_NETNS_SHIM_H

/// Moves the calling thread into the network namespace that `fd` refers to
/// (`setns(fd, CLONE_NEWNET)`, which the Swift Glibc module does not export).
/// Returns 0, or -1 with errno set.
int hac_setns_net(int fd);

#endif
