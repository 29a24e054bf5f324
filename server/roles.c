/* The worker kinds natserver runs, in one table (OpenBSD style). */
#include "config.h"

#include "natserver.h"

const struct role roles[WORKER_KINDS] = {
    {WORKER_TRACKER, "tracker", tracker_main, NULL, NULL},
    {WORKER_RENDEZVOUS, "rendezvous", rendezvous_main, NULL, NULL},
    {WORKER_RELAY, "relay", relay_main, relay_drain, relay_busy},
};
