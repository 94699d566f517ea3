/* The fields of attn_case, described once: each one's case-file key, type, place in the struct,
 * accepted values, default, and attnrun's option for it with its --help text.  The case-file
 * parser reads keys through this table, attn_case_defaults fills a case from it, attnrun builds
 * its options, their parsing and their --help from it; a new field is one row in case_fields.c. */
#ifndef ATTN_CASE_FIELDS_H
#define ATTN_CASE_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "attn_case.h"

typedef enum attn_field_kind {
    ATTN_FIELD_TEXT, /* char[] */
    ATTN_FIELD_INT64,
    ATTN_FIELD_INT32,
    ATTN_FIELD_BOOL, /* int32 0/1 */
    ATTN_FIELD_FLOAT,
    ATTN_FIELD_DOUBLE,
    ATTN_FIELD_UINT64,
    ATTN_FIELD_UINT32,
    ATTN_FIELD_DTYPE,      /* int32, by name (attn_dtype_name) */
    ATTN_FIELD_LAYOUT,     /* int32, by name (attn_layout_name) */
    ATTN_FIELD_MODIFIER,   /* int32, by name (attn_modifier_name); attnrun: one option per modifier */
    ATTN_FIELD_BATCH_LIST, /* int32[ATTN_CASE_MAX_BATCH], one value per batch entry */
    ATTN_FIELD_DOC_LIST,   /* int32[ATTN_CASE_MAX_DOCS] */
    ATTN_FIELD_CHECKS,     /* uint32 ATTN_CHECK_* bits, by a list of names */
    ATTN_FIELD_AUX,        /* attn_case_aux[ATTN_CASE_MAX_AUX] and aux_count, by a mapping (case_aux.c) */
} attn_field_kind;

typedef struct attn_case_field {
    const char *key; /* the case-file key, which is the member's name */
    attn_field_kind kind;
    size_t offset, size; /* of the member */
    double min, max;     /* what a case file accepts: numbers, and each value of a list */
    double initial;      /* attn_case_defaults' value for numbers (and names); lists start empty */
    const char *initial_text;
    size_t list_marker; /* lists: offset of the member that says one was given: BATCH_LIST sets it
                         * to 1 (has_lengths, has_prefix), DOC_LIST stores its count (doc_count) */
    const char *follows; /* key of a field whose value this one takes when only that one is given */

    /* attnrun's option for the field, without "--"; NULL: case files only (MODIFIER fields get
     * one option per modifier instead, named as the modifier). */
    const char *flag;
    const char *flag_off; /* BOOL: a second option that sets it to 0 (flag sets it to 1) */
    int flag_pair;        /* the option takes "A,B": A for this field, B for the next row's */
    const char *metavar;  /* the option's value in --help; named kinds list their names instead */
    const char *help;     /* for --help */
} attn_case_field;

/* Enough for the table: parsers keep a flag or a count per field on the stack. */
#define ATTN_CASE_FIELD_CAP 64

uint32_t attn_case_field_count(void);
const attn_case_field *attn_case_field_at(uint32_t index); /* NULL past the last */
int32_t attn_case_field_index(const char *key); /* -1 when no field has that key */
void *attn_case_field_slot(attn_case *c, const attn_case_field *f);

/* Store a number in the field's member, converted to its type:
 * INT64, INT32, BOOL and the named kinds | FLOAT, DOUBLE | UINT64, UINT32. */
void attn_case_field_set_int(attn_case *c, const attn_case_field *f, int64_t value);
void attn_case_field_set_real(attn_case *c, const attn_case_field *f, double value);
/* 0 when the field's member cannot hold `value` as given: a float32 field rounds a non-zero value
 * that small to 0, which would turn a feature off in silence (dropout_p 1e-50).  Both readers,
 * case files and attnrun's options, refuse such a value before storing it. */
int attn_case_field_holds_real(const attn_case_field *f, double value);
void attn_case_field_set_unsigned(attn_case *c, const attn_case_field *f, uint64_t value);
/* The field's default (attn_case_defaults: after a memset to 0). */
void attn_case_field_set_initial(attn_case *c, const attn_case_field *f);
/* A list field was given `count` values (already in its member): sets its list_marker. */
void attn_case_field_list_given(attn_case *c, const attn_case_field *f, int32_t count);
/* After a parser applied what it was given (given[index] != 0 for each field set): every field
 * not given whose `follows` was given takes that field's value (Dv follows D). */
void attn_case_fields_follow(attn_case *c, const uint8_t given[ATTN_CASE_FIELD_CAP]);

/* The values of a named kind (DTYPE, LAYOUT, MODIFIER; CHECKS: bit n is 1u << n), by name. */
const char *attn_case_field_value_name(const attn_case_field *f, int32_t value); /* NULL past the last */
int32_t attn_case_field_value_from_name(const attn_case_field *f, const char *name); /* -1: none */
/* Every name, joined: ("|", "|") gives "bhtd|bthd", (", ", " or ") "bhtd or bthd". */
void attn_case_field_names_joined(const attn_case_field *f, const char *separator, const char *last_separator,
                                  char *out, size_t cap);

#endif
