#define _GNU_SOURCE
#include <sched.h>
#include "NetnsShim.h"

int hac_setns_net(int fd) {
    return setns(fd, CLONE_NEWNET);
}
