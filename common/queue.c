#include "queue.h"

struct cw_queue {
  GMutex lock;
  GCond room;
  GQueue items;
  guint capacity;
  cw_queue_policy_t policy;
  GDestroyNotify free_item;
  cw_queue_stats_t stats;
};

cw_queue_t *
cw_queue_new(guint capacity, cw_queue_policy_t policy, GDestroyNotify free_item)
{
  cw_queue_t *q = g_new0(cw_queue_t, 1);
  g_mutex_init(&q->lock);
  g_cond_init(&q->room);
  g_queue_init(&q->items);
  q->capacity = capacity ? capacity : 1;
  q->policy = policy;
  q->free_item = free_item;
  return q;
}

void
cw_queue_free(cw_queue_t *q)
{
  if (!q)
    return;
  g_queue_clear_full(&q->items, q->free_item);
  g_cond_clear(&q->room);
  g_mutex_clear(&q->lock);
  g_free(q);
}

gboolean
cw_queue_push(cw_queue_t *q, gpointer item)
{
  g_mutex_lock(&q->lock);
  if (q->items.length >= q->capacity) {
    if (q->policy == CW_QUEUE_DROP_NEWEST) {
      q->stats.dropped++;
      g_mutex_unlock(&q->lock);
      return FALSE;
    }
    q->stats.waited++;
    while (q->items.length >= q->capacity)
      g_cond_wait(&q->room, &q->lock);
  }
  g_queue_push_tail(&q->items, item);
  q->stats.pushed++;
  g_mutex_unlock(&q->lock);
  return TRUE;
}

gpointer
cw_queue_pop(cw_queue_t *q)
{
  g_mutex_lock(&q->lock);
  gpointer item = g_queue_pop_head(&q->items);
  if (item) {
    q->stats.popped++;
    g_cond_signal(&q->room);
  }
  g_mutex_unlock(&q->lock);
  return item;
}

void
cw_queue_stats(cw_queue_t *q, cw_queue_stats_t *out)
{
  g_mutex_lock(&q->lock);
  *out = q->stats;
  out->depth = q->items.length;
  out->capacity = q->capacity;
  g_mutex_unlock(&q->lock);
}
