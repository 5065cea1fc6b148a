/* The event writer: see event_writer.h. Everything after the hand-off queue
 * runs on the writer's own thread and loop; the connection is driven by
 * PQconnectPoll / PQsendQueryParams / PQconsumeInput from uv_poll callbacks,
 * so a database that hangs never holds the loop, and the journal's group
 * commit keeps its beat whatever the database does. */
#include "event_writer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "journal.h"
#include "log.h"
#include "queue.h"

#define MOD "events"
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
/* Warn once when the journal passes this share of its bound. */
#define NEAR_FULL_PERCENT 80
/* Accept-to-commit latency histogram: 1 ms buckets, the last one open. */
#define LATENCY_BUCKETS 60001
/* What the connection's socket may hold: two batches of 2000 events (about
 * 120 bytes each as columns) and then some. */
#define SEND_BUFFER_BYTES (1 << 20)
/* Producers wake the loop once per this many events (see queued). */
#define WAKE_EVERY 1024
#define INT8OID 20 /* pg_type.dat */

/* One group commit: the records [start, end) became accepted at t_us. */
typedef struct {
  guint64 start, end;
  gint64 t_us;
} sync_mark_t;

/* A batch sent and not yet answered. Each is its own transaction, closed
 * by a pipeline sync; it counts as committed only once the sync's answer
 * has come. */
typedef struct {
  guint64 start, end; /* journal records [start, end) */
  guint n;
  guint64 turn;   /* its number on this connection (events_add_rows_in_turn) */
  gboolean alone; /* sent as JSON: nothing goes behind it */
  PGresult *res;  /* its statement's last result, until the sync */
} flight_t;

/* Batches in flight on the connection: the server works on one while the
 * next is built and sent. */
#define MAX_IN_FLIGHT 2

typedef enum { DB_DOWN, DB_CONNECTING, DB_READY } db_state_t;

struct cw_event_writer {
  char *journal_dir, *conninfo, *node;
  guint sync_ms, batch_max;
  gsize journal_max;
  cw_journal_t *journal;
  cw_queue_t *queue; /* char*: one event's JSON object */
  GThread *thread;

  GMutex mu; /* guards st and latency */
  cw_event_writer_stats_t st;
  guint64 *latency; /* LATENCY_BUCKETS counts */
  guint64 latency_n;

  /* Writer thread only. */
  uv_loop_t loop;
  uv_async_t wake;
  uv_timer_t sync_timer, retry_timer, grace_timer;
  uv_poll_t *poll;
  int poll_fd;
  PGconn *conn;
  db_state_t db;
  guint64 send_from;              /* the first record not yet committed (or given up on) */
  flight_t flight[MAX_IN_FLIGHT]; /* oldest first */
  guint n_flight;
  guint64 turn; /* the last batch sent on this connection; from a random start */
  /* A batch failed: those behind it are skipped by the server, and nothing
   * more is sent until all have answered; then from send_from again. */
  gboolean failed;
  guint batch_cur;       /* halves on a refused batch, down to one event */
  cw_event_rows_t *rows; /* the batch being sent, as columns */
  guint64 unsynced;
  guint backoff_ms;
  gboolean stopping, db_down_logged, near_full_logged;
  gboolean transient_error; /* a batch failed for the server's state: reconnect */
  char *transient_why;      /* its error message */
  GQueue syncs;             /* sync_mark_t*, oldest first, not yet committed */
  guint grace_ms;
  gint stop_requested; /* atomic */
  /* Atomic: events queued since the loop last emptied the queue. The sync
   * timer empties it anyway (an event counts as accepted only at a sync),
   * so producers wake the loop only every WAKE_EVERY events, to keep the
   * queue short in a burst: at full rate a uv_async_send per event costs
   * the loop more than the event. */
  gint queued;
};

static void try_send(cw_event_writer_t *w);
static void db_connect(cw_event_writer_t *w);

/* ---- stats -------------------------------------------------------------- */

#define STAT_ADD(w, field, n)                                                                      \
  do {                                                                                             \
    g_mutex_lock(&(w)->mu);                                                                        \
    (w)->st.field += (n);                                                                          \
    g_mutex_unlock(&(w)->mu);                                                                      \
  } while (0)

static void
journal_stats(cw_event_writer_t *w)
{
  cw_journal_stats_t js;
  cw_journal_stats(w->journal, &js);
  g_mutex_lock(&w->mu);
  w->st.journal_bytes = js.bytes;
  w->st.journal_max_bytes = js.max_bytes;
  w->st.journal_records = js.next_seq - js.first_seq;
  w->st.db_connected = w->db == DB_READY;
  g_mutex_unlock(&w->mu);
  gboolean near = js.max_bytes && js.bytes * 100 >= js.max_bytes * NEAR_FULL_PERCENT;
  if (near && !w->near_full_logged)
    cw_log_error(MOD,
                 "event journal %s holds %" G_GSIZE_FORMAT " of its %" G_GSIZE_FORMAT
                 " bytes (%" G_GUINT64_FORMAT " events waiting for the database); at the bound "
                 "new events are refused",
                 w->journal_dir, js.bytes, js.max_bytes, js.next_seq - js.first_seq);
  w->near_full_logged = near;
}

/* ---- journal ------------------------------------------------------------ */

static void
journal_queued(cw_event_writer_t *w)
{
  /* Cleared before emptying: the count restarts for what comes after. */
  g_atomic_int_set(&w->queued, 0);
  char *json;
  while ((json = cw_queue_pop(w->queue))) {
    guint64 seq;
    cw_error_t err;
    int rc = cw_journal_append(w->journal, json, strlen(json), &seq, &err);
    if (rc == 0) {
      w->unsynced++;
    } else {
      STAT_ADD(w, refused_journal_full, 1);
      cw_log_error(MOD, "event not accepted: %s", err.msg);
    }
    g_free(json);
  }
}

static void
sync_journal(cw_event_writer_t *w)
{
  if (w->unsynced == 0)
    return;
  cw_error_t err;
  if (cw_journal_sync(w->journal, &err) < 0) {
    cw_log_error(MOD, "syncing the event journal: %s", err.msg);
    return;
  }
  STAT_ADD(w, accepted, w->unsynced);
  cw_journal_stats_t js;
  cw_journal_stats(w->journal, &js);
  sync_mark_t *m = g_new(sync_mark_t, 1);
  *m = (sync_mark_t){js.synced_seq - w->unsynced, js.synced_seq, g_get_monotonic_time()};
  g_queue_push_tail(&w->syncs, m);
  w->unsynced = 0;
  journal_stats(w);
}

/* ---- the connection ----------------------------------------------------- */

static void
free_poll(uv_handle_t *h)
{
  g_free(h);
}

static void
poll_stop(cw_event_writer_t *w)
{
  if (w->poll) {
    uv_poll_stop(w->poll);
    uv_close((uv_handle_t *)w->poll, free_poll);
    w->poll = NULL;
  }
}

static void on_poll(uv_poll_t *p, int status, int events);

/* Watches the connection's socket, which libpq may change while it tries
 * the hosts of a multi-host string. */
static void
poll_watch(cw_event_writer_t *w, int events)
{
  int fd = PQsocket(w->conn);
  if (w->poll && w->poll_fd != fd)
    poll_stop(w);
  if (!w->poll) {
    w->poll = g_new0(uv_poll_t, 1);
    uv_poll_init(&w->loop, w->poll, fd);
    w->poll->data = w;
    w->poll_fd = fd;
  }
  uv_poll_start(w->poll, events, on_poll);
}

static void
flights_clear(cw_event_writer_t *w)
{
  for (guint i = 0; i < w->n_flight; i++)
    PQclear(w->flight[i].res);
  w->n_flight = 0;
  w->failed = FALSE;
  w->transient_error = FALSE;
  g_clear_pointer(&w->transient_why, g_free);
}

static void
on_retry(uv_timer_t *t)
{
  db_connect(t->data);
}

static void
db_lost(cw_event_writer_t *w, const char *what)
{
  /* A batch refused for the server's state says why in its result. */
  const char *msg = w->transient_why ? w->transient_why
                    : w->conn        ? PQerrorMessage(w->conn)
                                     : "out of memory";
  char *line = g_strchomp(g_strdup(msg));
  if (!w->db_down_logged)
    cw_log_warn(MOD, "%s: %s; events wait in the journal", what, *line ? line : "no reason given");
  g_free(line);
  w->db_down_logged = TRUE;
  poll_stop(w);
  if (w->conn)
    PQfinish(w->conn);
  w->conn = NULL;
  w->db = DB_DOWN;
  /* What was in flight is sent again from send_from: the insert ignores
   * repeats. */
  flights_clear(w);
  w->backoff_ms = w->backoff_ms ? MIN(w->backoff_ms * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS;
  journal_stats(w);
  if (!w->stopping)
    uv_timer_start(&w->retry_timer, on_retry, w->backoff_ms, 0);
}

/* A local server's socket holds about 200 KiB by default, less than a
 * batch: the next batch would wait half-sent, and the server idle, while the
 * writer is woken to send the rest. Best effort (the kernel caps it); TCP
 * sizes its buffers by itself. */
static void
widen_send_buffer(cw_event_writer_t *w)
{
  int fd = PQsocket(w->conn), want = SEND_BUFFER_BYTES;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) < 0)
    cw_log_debug(MOD, "SO_SNDBUF: %s", g_strerror(errno));
}

static void
connect_step(cw_event_writer_t *w)
{
  switch (PQconnectPoll(w->conn)) {
  case PGRES_POLLING_READING:
    poll_watch(w, UV_READABLE);
    break;
  case PGRES_POLLING_WRITING:
    poll_watch(w, UV_WRITABLE);
    break;
  case PGRES_POLLING_OK:
    if (PQsetnonblocking(w->conn, 1) != 0 || PQenterPipelineMode(w->conn) != 1) {
      db_lost(w, "event database");
      return;
    }
    /* Random, so a turn an earlier client of the same server session
     * recorded never matches one of ours. */
    w->turn = ((guint64)g_random_int() << 30 | g_random_int_range(1, 1 << 30));
    widen_send_buffer(w);
    if (w->db_down_logged)
      cw_log_info(MOD, "event database back; sending what the journal holds");
    w->db_down_logged = FALSE;
    w->backoff_ms = 0;
    w->db = DB_READY;
    STAT_ADD(w, reconnects, 1);
    poll_watch(w, UV_READABLE);
    journal_stats(w);
    try_send(w);
    break;
  default:
    db_lost(w, "connecting to the event database");
  }
}

static void
db_connect(cw_event_writer_t *w)
{
  w->conn = PQconnectStart(w->conninfo);
  if (!w->conn || PQstatus(w->conn) == CONNECTION_BAD) {
    db_lost(w, "connecting to the event database");
    return;
  }
  w->db = DB_CONNECTING;
  poll_watch(w, UV_WRITABLE);
}

/* ---- sending batches ---------------------------------------------------- */

static void
watch_for_flush(cw_event_writer_t *w)
{
  /* A big batch may not fit the socket at once: libpq keeps the rest. */
  poll_watch(w, PQflush(w->conn) == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* Sends the next batch after those in flight; FALSE when there is none to
 * send now. */
static gboolean
send_one(cw_event_writer_t *w)
{
  if (w->db != DB_READY || w->failed || w->n_flight >= MAX_IN_FLIGHT ||
      (w->n_flight && w->flight[w->n_flight - 1].alone))
    return FALSE;
  cw_journal_stats_t js;
  cw_journal_stats(w->journal, &js);
  if (w->send_from < js.first_seq)
    w->send_from = js.first_seq;
  guint64 from = w->n_flight ? w->flight[w->n_flight - 1].end : w->send_from;
  /* Only synced records: an event is sent once it counts as accepted. */
  if (from >= js.synced_seq)
    return FALSE;
  guint want = (guint)MIN((guint64)w->batch_cur, js.synced_seq - from);
  GPtrArray *recs = NULL;
  cw_error_t err;
  if (cw_journal_read(w->journal, from, want, &recs, &err) < 0) {
    cw_log_error(MOD, "reading the event journal: %s", err.msg);
    return FALSE;
  }
  if (recs->len == 0) {
    g_ptr_array_free(recs, TRUE);
    return FALSE;
  }
  /* The records go as columns, in binary, up to the first one that does
   * not fit them; that one, at the head of a batch, goes alone as JSON,
   * with nothing in flight before or behind it (only the columns'
   * statement checks turns). */
  cw_event_rows_reset(w->rows);
  guint used = 0;
  while (used < recs->len) {
    const cw_journal_record_t *r = recs->pdata[used];
    if (!cw_event_rows_add_json(w->rows, (const char *)r->data, r->len))
      break;
    used++;
  }
  if (used == 0 && w->n_flight > 0) {
    g_ptr_array_free(recs, TRUE);
    return FALSE;
  }
  flight_t *f = &w->flight[w->n_flight];
  *f = (flight_t){.start = from, .turn = w->turn + 1};
  int ok;
  if (used > 0) {
    /* The turn this batch follows: the one in flight before it, which
     * must commit first; none (0) when it is the only one in flight. */
    guint64 after = w->n_flight ? w->flight[w->n_flight - 1].turn : 0;
    guint64 turns[2] = {GUINT64_TO_BE(after), GUINT64_TO_BE(f->turn)};
    cw_event_rows_params_t p;
    cw_event_rows_params(w->rows, &p);
    const char *values[2 + CW_EVENT_ROWS_NPARAMS] = {(const char *)&turns[0],
                                                     (const char *)&turns[1]};
    int lengths[2 + CW_EVENT_ROWS_NPARAMS] = {8, 8}, formats[2 + CW_EVENT_ROWS_NPARAMS] = {1, 1};
    Oid types[2 + CW_EVENT_ROWS_NPARAMS] = {INT8OID, INT8OID};
    for (int i = 0; i < CW_EVENT_ROWS_NPARAMS; i++) {
      values[2 + i] = p.values[i];
      lengths[2 + i] = p.lengths[i];
      formats[2 + i] = p.formats[i];
      types[2 + i] = p.types[i];
    }
    ok = PQsendQueryParams(w->conn, CW_EVENT_ADD_ROWS_IN_TURN_SQL, 2 + CW_EVENT_ROWS_NPARAMS, types,
                           values, lengths, formats, 0);
  } else {
    const cw_journal_record_t *r = recs->pdata[0];
    char *batch = g_strdup_printf("[%.*s]", (int)r->len, (const char *)r->data);
    const char *params[] = {batch};
    ok = PQsendQueryParams(w->conn, CW_EVENT_ADD_SQL, 1, NULL, params, NULL, NULL, 0);
    g_free(batch);
    used = 1;
    f->alone = TRUE;
  }
  const cw_journal_record_t *last = recs->pdata[used - 1];
  f->end = last->seq + 1;
  f->n = used;
  g_ptr_array_free(recs, TRUE);
  if (!ok || PQpipelineSync(w->conn) != 1) {
    db_lost(w, "sending events");
    return FALSE;
  }
  w->turn = f->turn;
  w->n_flight++;
  return TRUE;
}

static void
try_send(cw_event_writer_t *w)
{
  gboolean sent = FALSE;
  while (send_one(w))
    sent = TRUE;
  if (sent && w->db == DB_READY)
    watch_for_flush(w);
}

/* Whether the server refused the batch for what is in it (bad data, an
 * unknown kind) rather than for its own state (shutting down, recovering,
 * out of resources, a conflict), which only a retry can tell. */
static gboolean
refused_for_good(const PGresult *res)
{
  const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  /* A function or table missing is the schema behind this build (a
   * database restored from before `cwctl db migrate`), not the events:
   * they wait in the journal. */
  if (state && (strcmp(state, "42883") == 0 || strcmp(state, "42P01") == 0))
    return FALSE;
  static const char *const classes[] = {"22", "23", "42", "P0"};
  for (gsize i = 0; state && i < G_N_ELEMENTS(classes); i++)
    if (g_str_has_prefix(state, classes[i]))
      return TRUE;
  return FALSE;
}

/* Records below end are committed: their time since their sync goes into
 * the histogram. Records from an earlier run have no mark and no time. */
static void
count_latency(cw_event_writer_t *w, guint64 end)
{
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&w->mu);
  sync_mark_t *m;
  while ((m = g_queue_peek_head(&w->syncs)) && m->start < end) {
    guint64 upto = MIN(end, m->end);
    gint64 ms = (now - m->t_us) / 1000;
    w->latency[MIN(ms, (gint64)LATENCY_BUCKETS - 1)] += upto - m->start;
    w->latency_n += upto - m->start;
    m->start = upto;
    if (m->start < m->end)
      break;
    g_free(g_queue_pop_head(&w->syncs));
  }
  g_mutex_unlock(&w->mu);
}

gint64
cw_event_writer_commit_latency(cw_event_writer_t *w, double q)
{
  gint64 out = -1;
  g_mutex_lock(&w->mu);
  if (w->latency_n) {
    guint64 want = (guint64)(q * (double)w->latency_n), seen = 0;
    for (guint i = 0; i < LATENCY_BUCKETS; i++) {
      seen += w->latency[i];
      if (seen > want || i == LATENCY_BUCKETS - 1) {
        out = (gint64)i * 1000;
        break;
      }
    }
  }
  g_mutex_unlock(&w->mu);
  return out;
}

/* The oldest batch in flight has had its sync answered: res (its
 * statement's result) says whether it committed. */
static void
batch_done(cw_event_writer_t *w, const flight_t *f, const PGresult *res)
{
  gboolean ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
  if (w->failed) {
    /* Behind a failed batch: skipped by the server (its turn check), sent
     * again in order. */
    return;
  }
  if (!ok && !(res && refused_for_good(res))) {
    /* Sent again over a new connection once the server is itself again. */
    w->failed = w->transient_error = TRUE;
    g_free(w->transient_why);
    const char *why = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    w->transient_why = g_strdup(why ? why : res ? PQresultErrorMessage(res) : "no result");
    return;
  }
  if (ok) {
    STAT_ADD(w, committed, f->n);
    STAT_ADD(w, inserted, g_ascii_strtoull(PQgetvalue(res, 0, 0), NULL, 10));
    w->send_from = f->end;
    w->batch_cur = w->batch_max;
  } else if (f->n > 1) {
    /* One event the database will never take must not hold the others:
     * halve until it stands alone. */
    w->batch_cur = MAX(1u, f->n / 2);
    w->failed = TRUE;
  } else {
    char *msg = g_strchomp(g_strdup(PQresultErrorMessage(res)));
    GPtrArray *recs = NULL;
    cw_error_t err;
    if (cw_journal_read(w->journal, f->start, 1, &recs, &err) == 0 && recs->len) {
      const cw_journal_record_t *r = recs->pdata[0];
      cw_log_error(MOD, "the database refuses event %.*s: %s", (int)MIN(r->len, 300),
                   (const char *)r->data, msg);
    }
    if (recs)
      g_ptr_array_free(recs, TRUE);
    g_free(msg);
    STAT_ADD(w, rejected, 1);
    w->send_from = f->end;
    /* The batch behind it expected this one to commit: skipped. */
    w->failed = TRUE;
  }
  count_latency(w, w->send_from);
  cw_error_t err;
  if (cw_journal_trim(w->journal, w->send_from, &err) < 0)
    cw_log_error(MOD, "trimming the event journal: %s", err.msg);
  journal_stats(w);
}

static void
read_results(cw_event_writer_t *w)
{
  if (!PQconsumeInput(w->conn) || PQstatus(w->conn) == CONNECTION_BAD) {
    db_lost(w, "event database");
    return;
  }
  guint nulls = 0;
  while (w->db == DB_READY && w->n_flight > 0) {
    if (PQstatus(w->conn) == CONNECTION_BAD) {
      db_lost(w, "event database");
      return;
    }
    if (PQisBusy(w->conn))
      return;
    PGresult *res = PQgetResult(w->conn);
    if (!res) {
      /* The end of a statement's results; its sync comes next. Twice in a
       * row: nothing more for now. */
      if (++nulls > 1)
        return;
      continue;
    }
    nulls = 0;
    flight_t *f = &w->flight[0];
    if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
      /* A later result (an error at commit) outranks an earlier one. */
      PQclear(f->res);
      f->res = res;
      continue;
    }
    PQclear(res);
    flight_t done = *f;
    w->n_flight--;
    memmove(&w->flight[0], &w->flight[1], w->n_flight * sizeof w->flight[0]);
    batch_done(w, &done, done.res);
    PQclear(done.res);
    if (w->n_flight == 0 && w->failed) {
      if (w->transient_error) {
        db_lost(w, "event database");
        return;
      }
      w->failed = FALSE;
    }
    try_send(w);
  }
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
  cw_event_writer_t *w = p->data;
  if (status < 0 && w->db != DB_CONNECTING) {
    db_lost(w, "event database");
    return;
  }
  switch (w->db) {
  case DB_CONNECTING:
    connect_step(w);
    break;
  case DB_READY:
    if ((events & UV_WRITABLE) && PQflush(w->conn) == 0)
      poll_watch(w, UV_READABLE);
    /* With nothing in flight the server speaks unasked only to say it is
     * going away: read_results notices. */
    if (events & UV_READABLE)
      read_results(w);
    break;
  case DB_DOWN:
    break;
  }
}

/* ---- the loop ----------------------------------------------------------- */

static void
close_all(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static void
finish(cw_event_writer_t *w)
{
  flights_clear(w);
  poll_stop(w);
  if (w->conn)
    PQfinish(w->conn);
  w->conn = NULL;
  w->db = DB_DOWN;
  uv_walk(&w->loop, close_all, NULL);
}

static void
on_grace(uv_timer_t *t)
{
  finish(t->data);
}

static void
on_sync(uv_timer_t *t)
{
  cw_event_writer_t *w = t->data;
  journal_queued(w);
  sync_journal(w);
  try_send(w);
  if (w->stopping) {
    cw_journal_stats_t js;
    cw_journal_stats(w->journal, &js);
    if (w->send_from >= js.next_seq && w->n_flight == 0)
      finish(w);
  }
}

static void
on_wake(uv_async_t *a)
{
  cw_event_writer_t *w = a->data;
  journal_queued(w);
  if (g_atomic_int_get(&w->stop_requested) && !w->stopping) {
    w->stopping = TRUE;
    sync_journal(w);
    uv_timer_stop(&w->retry_timer);
    uv_timer_start(&w->grace_timer, on_grace, w->grace_ms, 0);
    on_sync(&w->sync_timer);
  }
}

static gpointer
writer_main(gpointer data)
{
  cw_event_writer_t *w = data;
  db_connect(w);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* ---- public ------------------------------------------------------------- */

cw_event_writer_t *
cw_event_writer_new(const cw_event_writer_options_t *o, cw_error_t *err)
{
  cw_event_writer_t *w = g_new0(cw_event_writer_t, 1);
  w->journal_dir = g_strdup(o->journal_dir);
  w->conninfo = g_strdup(o->conninfo ? o->conninfo : "");
  w->node = g_strdup(o->node ? o->node : "");
  w->sync_ms = o->sync_ms ? o->sync_ms : 100;
  w->batch_max = w->batch_cur = o->batch_max ? o->batch_max : 2000;
  w->journal_max = o->journal_max_bytes ? o->journal_max_bytes : (gsize)1 << 30;
  cw_journal_options_t jo = {.dir = w->journal_dir, .max_bytes = w->journal_max};
  if (cw_journal_open(&jo, &w->journal, err) < 0) {
    g_free(w->journal_dir);
    g_free(w->conninfo);
    g_free(w->node);
    g_free(w);
    return NULL;
  }
  cw_journal_stats_t js;
  cw_journal_stats(w->journal, &js);
  w->send_from = js.first_seq;
  if (js.next_seq > js.first_seq)
    cw_log_info(MOD, "%" G_GUINT64_FORMAT " events from an earlier run wait in %s",
                js.next_seq - js.first_seq, w->journal_dir);
  w->queue =
      cw_queue_new(o->queue_capacity ? o->queue_capacity : 65536, CW_QUEUE_DROP_NEWEST, g_free);
  g_mutex_init(&w->mu);
  w->latency = g_new0(guint64, LATENCY_BUCKETS);
  g_queue_init(&w->syncs);
  w->rows = cw_event_rows_new();
  uv_loop_init(&w->loop);
  uv_async_init(&w->loop, &w->wake, on_wake);
  uv_timer_init(&w->loop, &w->sync_timer);
  uv_timer_init(&w->loop, &w->retry_timer);
  uv_timer_init(&w->loop, &w->grace_timer);
  w->wake.data = w->sync_timer.data = w->retry_timer.data = w->grace_timer.data = w;
  uv_timer_start(&w->sync_timer, on_sync, w->sync_ms, w->sync_ms);
  journal_stats(w);
  w->thread = g_thread_new("cw-events", writer_main, w);
  return w;
}

gboolean
cw_event_writer_submit(cw_event_writer_t *w, const cw_event_t *event)
{
  /* The journal holds one event per record: its JSON object. */
  GString *text = g_string_sized_new(256);
  cw_event_json_append(text, w->node, event);
  char *one = g_string_free(text, FALSE);
  STAT_ADD(w, submitted, 1);
  if (!cw_queue_push(w->queue, one)) {
    g_free(one);
    STAT_ADD(w, refused_queue_full, 1);
    return FALSE;
  }
  if (g_atomic_int_add(&w->queued, 1) + 1 == WAKE_EVERY)
    uv_async_send(&w->wake);
  return TRUE;
}

void
cw_event_writer_stats(cw_event_writer_t *w, cw_event_writer_stats_t *out)
{
  g_mutex_lock(&w->mu);
  *out = w->st;
  g_mutex_unlock(&w->mu);
}

void
cw_event_writer_free(cw_event_writer_t *w, guint grace_ms)
{
  if (!w)
    return;
  w->grace_ms = grace_ms;
  g_atomic_int_set(&w->stop_requested, 1);
  uv_async_send(&w->wake);
  g_thread_join(w->thread);
  uv_run(&w->loop, UV_RUN_DEFAULT); /* close callbacks */
  uv_loop_close(&w->loop);
  cw_journal_close(w->journal);
  cw_queue_free(w->queue);
  g_queue_clear_full(&w->syncs, g_free);
  cw_event_rows_free(w->rows);
  g_free(w->latency);
  g_mutex_clear(&w->mu);
  g_free(w->journal_dir);
  g_free(w->conninfo);
  g_free(w->node);
  g_free(w);
}
