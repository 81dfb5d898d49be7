/*
 * version — followerd's version, one definition for the daemon's --version,
 * its log and the .show version command.  The build may set it (-D).
 */
#ifndef FOLLOWERD_UTIL_VERSION_H
#define FOLLOWERD_UTIL_VERSION_H

#ifndef FOLLOWERD_VERSION
#define FOLLOWERD_VERSION "0.1.0"
#endif

#endif
