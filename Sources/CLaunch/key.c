/* The key naming an invocation (claunch.h): the one formatting the launcher and devenv-core
 * compare, so that the two cannot disagree on what a record is for. */
#include "record.h"

#include <stdio.h>
#include <string.h>

static const char *const passed_variables[] = {"TERM", "LANG", "TZ", "COLORTERM"};

const char *claunch_passed_variable(size_t i) {
    return i < sizeof passed_variables / sizeof *passed_variables ? passed_variables[i] : NULL;
}

int claunch_key(const struct claunch_key_fields *fields, char *out, size_t size) {
    int answers = strcmp(fields->verb, "build") == 0 || strcmp(fields->verb, "status") == 0;
    int n = answers
        ? snprintf(out, size, "devenv-launch %u\n%s\n%s\n%s\n\nlocked=%d json=%d quiet=%d", RECORD_VERSION, fields->verb,
                   fields->store, fields->project, fields->locked, fields->json, fields->quiet)
        : snprintf(out, size, "devenv-launch %u\n%s\n%s\n%s\n%s\nroot=%d network=%s quiet=%d", RECORD_VERSION,
                   fields->verb, fields->store, fields->project, fields->image ? fields->image : "", fields->root,
                   fields->network ? fields->network : "", fields->quiet);
    if (n < 0 || (size_t)n >= size) return CLAUNCH_KEY_TOO_LONG;
    /* Five newlines of its own; one more is a field's. */
    size_t newlines = 0;
    for (const char *c = out; *c; c++) newlines += *c == '\n';
    return newlines == 5 ? CLAUNCH_KEY_MADE : CLAUNCH_KEY_NEWLINE;
}
