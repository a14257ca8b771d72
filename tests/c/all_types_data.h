/*
 * The 21 values of tests/cross/README.md, built and checked through the C API (peer_value_t).
 */
#ifndef SEALNET_ALL_TYPES_DATA_H
#define SEALNET_ALL_TYPES_DATA_H

#include <stdio.h>

#include "sealnet.h"

/* The number of entries put_all_types stores. */
#define ALL_TYPES_COUNT 21

/* Stores the 21 entries in `data` (a byte-keyed dictionary). Returns PEER_RESULT_OK or the first
 * failing result (peer_last_error() has the detail). */
uint32_t put_all_types(peer_params_t *data);

/* Compares `data` with the 21 entries, value for value and type for type. Writes one line per
 * mismatch to `errors` and returns how many there were (0: all equal). */
int check_all_types(const peer_params_t *data, FILE *errors);

#endif
