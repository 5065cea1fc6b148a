/* A bounded queue between threads, with a stated overflow policy and
 * counters of what it did. Any thread may push or pop. The consumer is
 * usually a libuv loop woken by uv_async_send after a push (the caller's
 * business: the queue knows nothing of loops). */
#ifndef CW_QUEUE_H
#define CW_QUEUE_H

#include <glib.h>

typedef enum {
  CW_QUEUE_DROP_NEWEST, /* a push onto a full queue is refused and counted */
  CW_QUEUE_BLOCK,       /* a push onto a full queue waits for room (counted) */
} cw_queue_policy_t;

typedef struct {
  guint64 pushed, popped, dropped, waited;
  guint depth, capacity;
} cw_queue_stats_t;

typedef struct cw_queue cw_queue_t;

/* free_item (may be NULL) disposes of items left at free time. */
cw_queue_t *cw_queue_new(guint capacity, cw_queue_policy_t policy, GDestroyNotify free_item);
void cw_queue_free(cw_queue_t *q);
/* TRUE when queued; FALSE when dropped (the caller still owns item). */
gboolean cw_queue_push(cw_queue_t *q, gpointer item);
/* The oldest item, or NULL when empty; never waits. */
gpointer cw_queue_pop(cw_queue_t *q);
void cw_queue_stats(cw_queue_t *q, cw_queue_stats_t *out);

#endif
