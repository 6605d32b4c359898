/* Small N-API helpers shared by the addon's files: a JS number or string, and calling a JS callback
 * from a libuv callback (outside any N-API call, so it goes through napi_make_callback with the socket's async
 * context; an exception the callback throws is the process's uncaught exception, as in JS). */
#ifndef DMVPN_JS_CALLBACK_H
#define DMVPN_JS_CALLBACK_H
#include <node_api.h>

static inline napi_value js_number(napi_env env, double d) { napi_value v; napi_create_double(env, d, &v); return v; }
static inline napi_value js_string(napi_env env, const char *s) { napi_value v; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v); return v; }

/* The caller holds a handle scope. */
static inline void js_callback(napi_env env, napi_ref ref, napi_async_context actx, size_t argc, napi_value *argv) {
  napi_value cb, recv, result;
  napi_get_reference_value(env, ref, &cb);
  napi_get_global(env, &recv); /* make_callback needs an object receiver */
  if (cb && napi_make_callback(env, actx, recv, cb, argc, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}
#endif
