#include "worker_pool.h"

#include <string.h>

#include "log.h"

#define COMMAND_QUEUE_DEPTH 1024

typedef enum { CMD_PUT, CMD_REMOVE, CMD_QUIT } command_kind_t;

typedef struct {
  command_kind_t kind;
  gint64 id;
  cw_camera_config_t *config;
} command_t;

typedef struct {
  cw_ingest_pool_t *pool;
  GThread *thread;
  uv_loop_t loop;
  uv_async_t wake;
  uv_timer_t health_timer;
  cw_queue_t *commands;
  GHashTable *cameras; /* id -> cw_ingest_camera_t*, loop thread only */
  GMutex health_lock;
  GHashTable *health; /* id -> cw_camera_health_t*, under health_lock */
} worker_t;

struct cw_ingest_pool {
  guint n;
  worker_t *workers;
  cw_camera_options_t options;
};

static void
command_free(gpointer p)
{
  command_t *c = p;
  cw_camera_config_free(c->config);
  g_free(c);
}

static void
refresh_health(worker_t *w)
{
  GHashTableIter it;
  gpointer key, value;
  GHashTable *fresh = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
  g_hash_table_iter_init(&it, w->cameras);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    cw_camera_health_t *h = g_new(cw_camera_health_t, 1);
    cw_ingest_camera_health(value, h);
    g_hash_table_insert(fresh, &h->id, h);
  }
  g_mutex_lock(&w->health_lock);
  GHashTable *old = w->health;
  w->health = fresh;
  g_mutex_unlock(&w->health_lock);
  g_hash_table_destroy(old);
}

static void
on_health_timer(uv_timer_t *t)
{
  refresh_health(t->data);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void
on_wake(uv_async_t *a)
{
  worker_t *w = a->data;
  command_t *cmd;
  while ((cmd = cw_queue_pop(w->commands))) {
    if (cmd->kind == CMD_PUT) {
      cw_ingest_camera_t *cam = g_hash_table_lookup(w->cameras, &cmd->config->id);
      if (cam) {
        cw_ingest_camera_update(cam, cmd->config);
      } else {
        gint64 *key = g_new(gint64, 1);
        *key = cmd->config->id;
        g_hash_table_insert(w->cameras, key,
                            cw_ingest_camera_new(&w->loop, cmd->config, &w->pool->options));
      }
    } else if (cmd->kind == CMD_REMOVE) {
      g_hash_table_remove(w->cameras, &cmd->id);
    } else {
      /* Quit: stop every camera, then let the loop run dry. */
      g_hash_table_remove_all(w->cameras);
      uv_walk(&w->loop, close_walk, NULL);
    }
    command_free(cmd);
  }
  refresh_health(w);
}

static gpointer
worker_main(gpointer data)
{
  worker_t *w = data;
  uv_run(&w->loop, UV_RUN_DEFAULT);
  /* Cameras' clients close their handles after the walk: finish them. */
  uv_run(&w->loop, UV_RUN_DEFAULT);
  return NULL;
}

cw_ingest_pool_t *
cw_ingest_pool_new(guint threads, const cw_camera_options_t *options)
{
  cw_ingest_pool_t *pool = g_new0(cw_ingest_pool_t, 1);
  pool->n = threads ? threads : MAX(1u, g_get_num_processors());
  pool->options = *options;
  pool->workers = g_new0(worker_t, pool->n);
  for (guint i = 0; i < pool->n; i++) {
    worker_t *w = &pool->workers[i];
    w->pool = pool;
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_timer_init(&w->loop, &w->health_timer);
    w->health_timer.data = w;
    uv_timer_start(&w->health_timer, on_health_timer, 1000, 1000);
    w->commands = cw_queue_new(COMMAND_QUEUE_DEPTH, CW_QUEUE_BLOCK, command_free);
    w->cameras = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify)cw_ingest_camera_free);
    w->health = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    g_mutex_init(&w->health_lock);
    char name[16];
    g_snprintf(name, sizeof name, "ingest-%u", i);
    w->thread = g_thread_new(name, worker_main, w);
  }
  return pool;
}

guint
cw_ingest_pool_threads(const cw_ingest_pool_t *pool)
{
  return pool->n;
}

static worker_t *
shard(cw_ingest_pool_t *pool, gint64 id)
{
  return &pool->workers[(guint64)id % pool->n];
}

static void
send_command(worker_t *w, command_t *cmd)
{
  cw_queue_push(w->commands, cmd); /* BLOCK policy: never dropped */
  uv_async_send(&w->wake);
}

void
cw_ingest_pool_put(cw_ingest_pool_t *pool, const cw_camera_config_t *config)
{
  command_t *cmd = g_new0(command_t, 1);
  cmd->kind = CMD_PUT;
  cmd->id = config->id;
  cmd->config = cw_camera_config_copy(config);
  send_command(shard(pool, config->id), cmd);
}

void
cw_ingest_pool_remove(cw_ingest_pool_t *pool, gint64 id)
{
  command_t *cmd = g_new0(command_t, 1);
  cmd->kind = CMD_REMOVE;
  cmd->id = id;
  send_command(shard(pool, id), cmd);
}

GArray *
cw_ingest_pool_health(cw_ingest_pool_t *pool)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(cw_camera_health_t));
  for (guint i = 0; i < pool->n; i++) {
    worker_t *w = &pool->workers[i];
    g_mutex_lock(&w->health_lock);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, w->health);
    while (g_hash_table_iter_next(&it, NULL, &value))
      g_array_append_vals(out, value, 1);
    g_mutex_unlock(&w->health_lock);
  }
  return out;
}

void
cw_ingest_pool_queue_stats(cw_ingest_pool_t *pool, cw_queue_stats_t *out)
{
  memset(out, 0, sizeof *out);
  for (guint i = 0; i < pool->n; i++) {
    cw_queue_stats_t s;
    cw_queue_stats(pool->workers[i].commands, &s);
    out->pushed += s.pushed;
    out->popped += s.popped;
    out->dropped += s.dropped;
    out->waited += s.waited;
    out->depth += s.depth;
    out->capacity += s.capacity;
  }
}

void
cw_ingest_pool_free(cw_ingest_pool_t *pool)
{
  if (!pool)
    return;
  for (guint i = 0; i < pool->n; i++) {
    command_t *cmd = g_new0(command_t, 1);
    cmd->kind = CMD_QUIT;
    send_command(&pool->workers[i], cmd);
  }
  for (guint i = 0; i < pool->n; i++) {
    worker_t *w = &pool->workers[i];
    g_thread_join(w->thread);
    uv_loop_close(&w->loop);
    cw_queue_free(w->commands);
    g_hash_table_destroy(w->cameras);
    g_hash_table_destroy(w->health);
    g_mutex_clear(&w->health_lock);
  }
  g_free(pool->workers);
  g_free(pool);
}
