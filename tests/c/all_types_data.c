/*
 * The 21 values of tests/cross/README.md through peer_value_t: how a C host builds and reads every
 * value type.
 */
#include "all_types_data.h"

#include <string.h>

#define VECTOR_CODE 86

static const char text[] = "h\xc3\xa9llo w\xc3\xb6rld"; /* héllo wörld */
static const uint8_t bytes[] = {0, 1, 254, 255};
static const int16_t shorts[] = {-1, 2, 300};
static const int32_t ints[] = {7, -8, 9000000};
static const int64_t longs[] = {-1, 4294967296LL};
static const float floats[] = {0.5f, -1.25f};
static const double doubles[] = {3.5, -0.125};
static const uint8_t bools[] = {1, 0, 1};
static const char *const strings[] = {"a", "\xce\xb2", ""}; /* a, β, empty */

/* The 3-vector (1, 2, 3) as the custom type's bytes: three little-endian IEEE-754 floats. */
static void vector_bytes(uint8_t out[12]) {
    const float components[3] = {1.0f, 2.0f, 3.0f};
    for (int i = 0; i < 3; i++) {
        uint32_t bits;
        memcpy(&bits, &components[i], 4);
        for (int b = 0; b < 4; b++) out[4 * i + b] = (uint8_t)(bits >> (8 * b));
    }
}

static peer_value_t value_of(uint32_t type) {
    peer_value_t value;
    memset(&value, 0, sizeof value);
    value.type = type;
    return value;
}

static peer_value_t integer(uint32_t type, int64_t number) {
    peer_value_t value = value_of(type);
    value.integer = number;
    return value;
}

static peer_value_t block(uint32_t type, const void *data, size_t len) {
    peer_value_t value = value_of(type);
    value.data = data;
    value.len = len;
    return value;
}

static peer_value_t string(const char *utf8) {
    return block(PEER_VALUE_TYPE_STRING, utf8, strlen(utf8));
}

uint32_t put_all_types(peer_params_t *data) {
    uint32_t result = PEER_RESULT_OK;
    peer_array_t *string_array = NULL, *array = NULL;
    peer_table_t *table = NULL;
    peer_params_t *map = NULL;
    uint8_t vector[12];
    vector_bytes(vector);

#define PUT(key, value)                                               \
    do {                                                              \
        peer_value_t value_ = (value);                                \
        if ((result = peer_params_put(data, key, &value_)) != 0) goto done; \
    } while (0)

    PUT(1, integer(PEER_VALUE_TYPE_BYTE, 200));
    PUT(2, integer(PEER_VALUE_TYPE_SHORT, -12345));
    PUT(3, integer(PEER_VALUE_TYPE_INT, -100000));
    PUT(4, integer(PEER_VALUE_TYPE_LONG, 1099511627776LL));
    {
        peer_value_t value = value_of(PEER_VALUE_TYPE_FLOAT);
        value.float32 = 1.5f;
        PUT(5, value);
    }
    {
        peer_value_t value = value_of(PEER_VALUE_TYPE_DOUBLE);
        value.float64 = -2.25;
        PUT(6, value);
    }
    PUT(7, integer(PEER_VALUE_TYPE_BOOL, 1));
    PUT(8, string(text));
    PUT(9, block(PEER_VALUE_TYPE_BYTES, bytes, sizeof bytes));
    PUT(10, block(PEER_VALUE_TYPE_SHORT_ARRAY, shorts, 3));
    PUT(11, block(PEER_VALUE_TYPE_INT_ARRAY, ints, 3));
    PUT(12, block(PEER_VALUE_TYPE_LONG_ARRAY, longs, 2));
    PUT(13, block(PEER_VALUE_TYPE_FLOAT_ARRAY, floats, 2));
    PUT(14, block(PEER_VALUE_TYPE_DOUBLE_ARRAY, doubles, 2));
    PUT(15, block(PEER_VALUE_TYPE_BOOL_ARRAY, bools, 3));

    if ((result = peer_array_new(PEER_VALUE_TYPE_STRING_ARRAY, &string_array)) != 0) goto done;
    for (int i = 0; i < 3; i++) {
        peer_value_t element = string(strings[i]);
        if ((result = peer_array_push(string_array, &element)) != 0) goto done;
    }
    {
        peer_value_t value = value_of(PEER_VALUE_TYPE_STRING_ARRAY);
        value.array = string_array;
        PUT(16, value);
    }

    if ((result = peer_array_new(PEER_VALUE_TYPE_ARRAY, &array)) != 0) goto done;
    {
        peer_value_t elements[4] = {integer(PEER_VALUE_TYPE_INT, 1), string("two"), value_of(PEER_VALUE_TYPE_NULL),
                                    integer(PEER_VALUE_TYPE_BOOL, 0)};
        for (int i = 0; i < 4; i++)
            if ((result = peer_array_push(array, &elements[i])) != 0) goto done;
        peer_value_t value = value_of(PEER_VALUE_TYPE_ARRAY);
        value.array = array;
        PUT(17, value);
    }

    if ((result = peer_table_new(&table)) != 0) goto done;
    {
        peer_value_t keys[3] = {string("name"), string("score"), integer(PEER_VALUE_TYPE_INT, 7)};
        peer_value_t quarter = value_of(PEER_VALUE_TYPE_DOUBLE);
        quarter.float64 = 0.25;
        peer_value_t values[3] = {string("Ann"), integer(PEER_VALUE_TYPE_INT, 10), quarter};
        for (int i = 0; i < 3; i++)
            if ((result = peer_table_put(table, &keys[i], &values[i])) != 0) goto done;
        peer_value_t value = value_of(PEER_VALUE_TYPE_TABLE);
        value.table = table;
        PUT(18, value);
    }
    {
        peer_value_t value = block(PEER_VALUE_TYPE_CUSTOM, vector, sizeof vector);
        value.custom_code = VECTOR_CODE;
        PUT(19, value);
    }

    if ((result = peer_params_new(&map)) != 0) goto done;
    {
        peer_value_t five = integer(PEER_VALUE_TYPE_INT, 5);
        if ((result = peer_params_put(map, 1, &five)) != 0) goto done;
        peer_value_t value = value_of(PEER_VALUE_TYPE_MAP);
        value.map = map;
        PUT(20, value);
    }
    PUT(21, value_of(PEER_VALUE_TYPE_NULL));
#undef PUT

done:
    peer_array_free(string_array);
    peer_array_free(array);
    peer_table_free(table);
    peer_params_free(map);
    return result;
}

/* ---- checking ---- */

typedef struct {
    FILE *errors;
    int mismatches;
} report;

static void mismatch(report *r, const char *where, const char *what) {
    fprintf(r->errors, "mismatch at %s: %s\n", where, what);
    r->mismatches++;
}

/* Reads `key` and checks its type; returns 1 when it may be compared further. */
static int typed(report *r, const peer_params_t *data, uint8_t key, uint32_t type, peer_value_t *out) {
    char where[16];
    snprintf(where, sizeof where, "key %u", key);
    if (peer_params_get(data, key, out) != PEER_RESULT_OK) {
        mismatch(r, where, "missing");
        return 0;
    }
    if (out->type != type) {
        fprintf(r->errors, "mismatch at %s: type %u, expected %u\n", where, out->type, type);
        r->mismatches++;
        return 0;
    }
    return 1;
}

static void expect(report *r, int ok, uint8_t key, const char *what) {
    char where[16];
    snprintf(where, sizeof where, "key %u", key);
    if (!ok) mismatch(r, where, what);
}

static int same_block(const peer_value_t *value, const void *data, size_t len, size_t element) {
    return value->len == len && (len == 0 || memcmp(value->data, data, len * element) == 0);
}

static int is_string(const peer_value_t *value, const char *utf8) {
    return value->type == PEER_VALUE_TYPE_STRING && same_block(value, utf8, strlen(utf8), 1);
}

int check_all_types(const peer_params_t *data, FILE *errors) {
    report r = {errors, 0};
    peer_value_t v;
    size_t count = 0;
    if (peer_params_count(data, &count) != PEER_RESULT_OK || count != ALL_TYPES_COUNT) {
        fprintf(errors, "mismatch: %zu entries, expected %d\n", count, ALL_TYPES_COUNT);
        r.mismatches++;
    }
    if (typed(&r, data, 1, PEER_VALUE_TYPE_BYTE, &v)) expect(&r, v.integer == 200, 1, "byte 200");
    if (typed(&r, data, 2, PEER_VALUE_TYPE_SHORT, &v)) expect(&r, v.integer == -12345, 2, "short -12345");
    if (typed(&r, data, 3, PEER_VALUE_TYPE_INT, &v)) expect(&r, v.integer == -100000, 3, "int -100000");
    if (typed(&r, data, 4, PEER_VALUE_TYPE_LONG, &v)) expect(&r, v.integer == 1099511627776LL, 4, "long 2^40");
    if (typed(&r, data, 5, PEER_VALUE_TYPE_FLOAT, &v)) expect(&r, v.float32 == 1.5f, 5, "float 1.5");
    if (typed(&r, data, 6, PEER_VALUE_TYPE_DOUBLE, &v)) expect(&r, v.float64 == -2.25, 6, "double -2.25");
    if (typed(&r, data, 7, PEER_VALUE_TYPE_BOOL, &v)) expect(&r, v.integer == 1, 7, "true");
    if (typed(&r, data, 8, PEER_VALUE_TYPE_STRING, &v)) expect(&r, is_string(&v, text), 8, "the UTF-8 text");
    if (typed(&r, data, 9, PEER_VALUE_TYPE_BYTES, &v)) expect(&r, same_block(&v, bytes, 4, 1), 9, "0 1 254 255");
    if (typed(&r, data, 10, PEER_VALUE_TYPE_SHORT_ARRAY, &v))
        expect(&r, same_block(&v, shorts, 3, sizeof *shorts), 10, "-1 2 300");
    if (typed(&r, data, 11, PEER_VALUE_TYPE_INT_ARRAY, &v))
        expect(&r, same_block(&v, ints, 3, sizeof *ints), 11, "7 -8 9000000");
    if (typed(&r, data, 12, PEER_VALUE_TYPE_LONG_ARRAY, &v))
        expect(&r, same_block(&v, longs, 2, sizeof *longs), 12, "-1 2^32");
    if (typed(&r, data, 13, PEER_VALUE_TYPE_FLOAT_ARRAY, &v))
        expect(&r, same_block(&v, floats, 2, sizeof *floats), 13, "0.5 -1.25");
    if (typed(&r, data, 14, PEER_VALUE_TYPE_DOUBLE_ARRAY, &v))
        expect(&r, same_block(&v, doubles, 2, sizeof *doubles), 14, "3.5 -0.125");
    if (typed(&r, data, 15, PEER_VALUE_TYPE_BOOL_ARRAY, &v))
        expect(&r, same_block(&v, bools, 3, 1), 15, "true false true");
    if (typed(&r, data, 16, PEER_VALUE_TYPE_STRING_ARRAY, &v)) {
        int ok = v.len == 3;
        for (size_t i = 0; ok && i < 3; i++) {
            peer_value_t element;
            ok = peer_array_get(v.array, i, &element) == PEER_RESULT_OK && is_string(&element, strings[i]);
        }
        expect(&r, ok, 16, "a, beta, empty");
    }
    if (typed(&r, data, 17, PEER_VALUE_TYPE_ARRAY, &v)) {
        peer_value_t e[4];
        int ok = v.len == 4;
        for (size_t i = 0; ok && i < 4; i++) ok = peer_array_get(v.array, i, &e[i]) == PEER_RESULT_OK;
        ok = ok && e[0].type == PEER_VALUE_TYPE_INT && e[0].integer == 1 && is_string(&e[1], "two") &&
             e[2].type == PEER_VALUE_TYPE_NULL && e[3].type == PEER_VALUE_TYPE_BOOL && e[3].integer == 0;
        expect(&r, ok, 17, "int 1, \"two\", null, false");
    }
    if (typed(&r, data, 18, PEER_VALUE_TYPE_TABLE, &v)) {
        size_t entries = 0;
        peer_value_t key = string("name"), found;
        int ok = peer_table_count(v.table, &entries) == PEER_RESULT_OK && entries == 3;
        ok = ok && peer_table_get(v.table, &key, &found) == PEER_RESULT_OK && is_string(&found, "Ann");
        key = string("score");
        ok = ok && peer_table_get(v.table, &key, &found) == PEER_RESULT_OK && found.type == PEER_VALUE_TYPE_INT &&
             found.integer == 10;
        key = integer(PEER_VALUE_TYPE_INT, 7);
        ok = ok && peer_table_get(v.table, &key, &found) == PEER_RESULT_OK && found.type == PEER_VALUE_TYPE_DOUBLE &&
             found.float64 == 0.25;
        expect(&r, ok, 18, "{name: Ann, score: 10, 7: 0.25}");
    }
    if (typed(&r, data, 19, PEER_VALUE_TYPE_CUSTOM, &v)) {
        uint8_t vector[12];
        vector_bytes(vector);
        expect(&r, v.custom_code == VECTOR_CODE && same_block(&v, vector, 12, 1), 19, "vector (1, 2, 3) as code 86");
    }
    if (typed(&r, data, 20, PEER_VALUE_TYPE_MAP, &v)) {
        peer_value_t five;
        size_t entries = 0;
        int ok = peer_params_count(v.map, &entries) == PEER_RESULT_OK && entries == 1 &&
                 peer_params_get(v.map, 1, &five) == PEER_RESULT_OK && five.type == PEER_VALUE_TYPE_INT &&
                 five.integer == 5;
        expect(&r, ok, 20, "{1: int 5}");
    }
    typed(&r, data, 21, PEER_VALUE_TYPE_NULL, &v);
    return r.mismatches;
}
