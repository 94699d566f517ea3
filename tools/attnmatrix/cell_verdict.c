/* A cell's status from the outcomes of its instances: the one rule the table's cells follow
 * (docs/USING.md, "What the cells mean"), tested alone in tests/matrix/test_cell_verdict.c. */
#include "matrix.h"

enum cell_status cell_verdict(const uint32_t counts[OUT_COUNT]) {
    uint32_t total = 0;
    for (int k = 0; k < OUT_COUNT; ++k) total += counts[k];
    if (total == 0) return CELL_EMPTY;
    /* A backend that cannot run here is skipped for every instance; then the worst outcome. */
    if (counts[OUT_SKIP]) return CELL_SKIP;
    if (counts[OUT_CRASH]) return CELL_CRASH;
    if (counts[OUT_TIMEOUT]) return CELL_TIMEOUT;
    if (counts[OUT_FAIL]) return CELL_FAIL;
    if (counts[OUT_PASS] == total) return CELL_PASS;
    if (counts[OUT_PASS]) return CELL_PARTIAL; /* the rest declined: unsupported or not applicable */
    if (counts[OUT_NOT_APPLICABLE] == total) return CELL_NA;
    return CELL_UNSUPPORTED; /* every instance declined, some as unsupported */
}
