/*
 * size.c - parse sizes such as "256M" from the command line (introduced in chapter 2).
 */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int size_parse(const char *text, uint64_t *bytes)
{
    /* strtoull quietly accepts "-1" and leading spaces; sizes have neither. */
    if (!text || !isdigit((unsigned char)text[0]))
        return -EINVAL;

    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;

    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    default:
        break;
    }
    if (shift)
        end++;
    if (strcmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
        return -EINVAL;
    if (strcasecmp(end, "iB") == 0 && shift == 0)
        return -EINVAL; /* "12iB" is not a unit */

    if (shift && value > (UINT64_MAX >> shift))
        return -ERANGE;
    *bytes = (uint64_t)value << shift;
    return 0;
}
