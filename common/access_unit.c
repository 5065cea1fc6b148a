#include "access_unit.h"

#include <string.h>

cw_access_unit_t *
cw_access_unit_new_take(cw_codec_t codec, guint8 *data, size_t size)
{
  cw_access_unit_t *au = g_new0(cw_access_unit_t, 1);
  au->refcount = 1;
  au->codec = codec;
  au->data = data;
  au->size = size;
  au->clock_rate = 90000;
  return au;
}

cw_access_unit_t *
cw_access_unit_new(cw_codec_t codec, const guint8 *data, size_t size)
{
  return cw_access_unit_new_take(codec, g_memdup2(data, size), size);
}

cw_access_unit_t *
cw_access_unit_ref(cw_access_unit_t *au)
{
  g_atomic_int_inc(&au->refcount);
  return au;
}

void
cw_access_unit_unref(cw_access_unit_t *au)
{
  if (au && g_atomic_int_dec_and_test(&au->refcount)) {
    g_free(au->data);
    g_free(au);
  }
}
