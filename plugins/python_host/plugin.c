/* python-host: a backend written in Python, behind the same ABI as every plugin.
 *
 * Options (README.md): `module` (required), `python` (the interpreter, default python3 on PATH),
 * `path` (a folder put first on sys.path); every other key goes to the module's create() as a
 * str.  The interpreter is python_runtime.c's, the problem object problem_object.c's, and the
 * Python half of every call host_glue.py's, which answers with a string that parse_answer()
 * turns into a status: no Python exception ever crosses this file.
 *
 * Threading: every Python call holds the GIL (PyGILState_Ensure/Release), taken here and only
 * here, so instances on different threads take turns inside Python; one instance is never
 * entered twice at once (the ABI's contract). */
#define _GNU_SOURCE
#include <attn/plugin/attn_plugin.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cpu_device.h"
#include "output_guard.h"
#include "problem_object.h"
#include "python_runtime.h"

typedef struct python_backend {
    PyObject *host; /* host_glue.Host */
    char module[256];
} python_backend;

/* host_glue.py's answer: "" is OK, else "<status>:<text>". */
static attn_status parse_answer(const char *module, const char *answer, char *msg, uint32_t msg_cap) {
    static const struct {
        const char *prefix;
        attn_status status;
        int name_module; /* say which module: for errors, not for a refusal's reason */
    } kinds[] = {
        {"unsupported:", ATTN_E_UNSUPPORTED, 0}, {"n/a:", ATTN_E_NOT_APPLICABLE, 0},
        {"unavailable:", ATTN_E_UNAVAILABLE, 0}, {"invalid:", ATTN_E_INVALID, 0},
        /* The module's bug.  The ABI has no "backend error" status yet; INTERNAL ("a bug") is
         * the closest, and the message says whose. */
        {"error:", ATTN_E_INTERNAL, 1},
    };
    if (!answer[0]) return ATTN_OK;
    for (size_t n = 0; n < sizeof kinds / sizeof kinds[0]; ++n) {
        size_t len = strlen(kinds[n].prefix);
        if (strncmp(answer, kinds[n].prefix, len) == 0) {
            if (kinds[n].name_module)
                snprintf(msg, msg_cap, "python module %s: %s", module, answer + len);
            else
                snprintf(msg, msg_cap, "%s", answer + len);
            return kinds[n].status;
        }
    }
    snprintf(msg, msg_cap, "python_host: the glue answered '%.200s'", answer);
    return ATTN_E_INTERNAL;
}

/* Calls host.<method>(arg or nothing) and parses its str answer.  With the GIL held. */
static attn_status call_host(const python_backend *self, const char *method, PyObject *arg, char *msg,
                             uint32_t msg_cap) {
    PyObject *fn = py.PyObject_GetAttrString(self->host, method);
    PyObject *answer = fn ? py.PyObject_CallFunctionObjArgs(fn, arg, NULL) : NULL;
    if (fn) py.Py_DecRef(fn);
    if (!answer) {
        char what[300];
        snprintf(what, sizeof what, "python_host: %s() of module %s failed", method, self->module);
        py_error_message(what, msg, msg_cap);
        return ATTN_E_INTERNAL;
    }
    char text[ATTN_MSG_CAP * 2];
    int bad = py_string_copy(answer, text, sizeof text);
    py.Py_DecRef(answer);
    if (bad) {
        snprintf(msg, msg_cap, "python_host: %s() of module %s answered something that is not a str", method,
                 self->module);
        return ATTN_E_INTERNAL;
    }
    return parse_answer(self->module, text, msg, msg_cap);
}

/* A dotted Python identifier: what importlib accepts as an absolute module name. */
static int valid_module_name(const char *s) {
    if (!*s) return 0;
    int start = 1;
    for (; *s; ++s) {
        char c = *s;
        if (c == '.') {
            if (start) return 0;
            start = 1;
            continue;
        }
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(c >= '0' && c <= '9' && !start)) return 0;
        start = 0;
    }
    return !start;
}

static attn_status py_create(const attn_host_services *host, const attn_option *options, uint32_t option_count,
                             void **out, char *msg, uint32_t msg_cap) {
    (void)host;
    /* The interpreter: option python, else $ATTN_PYTHON (so that one config serves machines
     * whose Python with torch lives in different places), else python3 on PATH. */
    const char *python = getenv("ATTN_PYTHON"), *module = NULL, *path = NULL;
    if (!python || !*python) python = "python3";
    for (uint32_t n = 0; n < option_count; ++n) {
        if (strcmp(options[n].key, "python") == 0) python = options[n].value;
        else if (strcmp(options[n].key, "module") == 0) module = options[n].value;
        else if (strcmp(options[n].key, "path") == 0) path = options[n].value;
    }
    if (!module && option_count == 0) {
        /* Opened bare, as attninfo does with every plugin of the search path: nothing to run,
         * and no interpreter started for it.  Not a config error: there is no config. */
        snprintf(msg, msg_cap, "no Python module configured (options module, python, path: "
                               "plugins/python_host/README.md)");
        return ATTN_E_UNAVAILABLE;
    }
    if (!module) {
        snprintf(msg, msg_cap, "option module is required: the Python module that implements the backend");
        return ATTN_E_INVALID;
    }
    if (!valid_module_name(module) || strlen(module) >= sizeof ((python_backend *)0)->module) {
        snprintf(msg, msg_cap, "option module: '%.200s' is not a Python module name (a.b.c)", module);
        return ATTN_E_INVALID;
    }
    /* The host does not tell plugins where the config lives: a relative path is taken from the
     * working directory, made absolute now so that a later chdir cannot change it. */
    char path_abs[PATH_MAX];
    if (path && !realpath(path, path_abs)) {
        snprintf(msg, msg_cap, "option path: %.300s: %s (a relative path is from the working directory)", path,
                 strerror(errno));
        return ATTN_E_INVALID;
    }
    attn_status st = py_runtime_acquire(python, msg, msg_cap);
    if (st != ATTN_OK) return st;

    python_backend *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(msg, msg_cap, "out of memory");
        return ATTN_E_NOMEM;
    }
    snprintf(self->module, sizeof self->module, "%s", module);
    PyGILState_STATE gil = py.PyGILState_Ensure();
    /* Host(module, path, options): every key but ours, as str: str. */
    PyObject *name = py.PyUnicode_FromString(module);
    PyObject *where = path ? py.PyUnicode_FromString(path_abs) : (py.Py_IncRef(py.none), py.none);
    PyObject *passed = py.PyDict_New();
    int ok = name && where && passed;
    for (uint32_t n = 0; ok && n < option_count; ++n) {
        const char *key = options[n].key;
        if (!strcmp(key, "python") || !strcmp(key, "module") || !strcmp(key, "path")) continue;
        PyObject *value = py.PyUnicode_FromString(options[n].value);
        ok = value && py.PyDict_SetItemString(passed, key, value) == 0;
        if (value) py.Py_DecRef(value);
    }
    PyObject *make = py_runtime_glue("Host");
    if (ok && make) self->host = py.PyObject_CallFunctionObjArgs(make, name, where, passed, NULL);
    if (name) py.Py_DecRef(name);
    if (where) py.Py_DecRef(where);
    if (passed) py.Py_DecRef(passed);
    if (!self->host) {
        py_error_message("python_host: cannot make the backend", msg, msg_cap);
        st = ATTN_E_UNAVAILABLE;
    } else {
        PyObject *error = py.PyObject_GetAttrString(self->host, "error");
        char text[ATTN_MSG_CAP * 2] = "";
        if (!error || py_string_copy(error, text, sizeof text) != 0) {
            py.PyErr_Clear();
            snprintf(text, sizeof text, "error:the glue's Host has no error text");
        }
        if (error) py.Py_DecRef(error);
        st = parse_answer(module, text, msg, msg_cap);
        if (st != ATTN_OK) {
            py.Py_DecRef(self->host);
            self->host = NULL;
        }
    }
    py.PyGILState_Release(gil);
    if (st != ATTN_OK) {
        free(self);
        return st;
    }
    *out = self;
    return ATTN_OK;
}

static void py_destroy(void *backend) {
    python_backend *self = backend;
    if (!self) return;
    if (self->host && py.Py_IsInitialized()) {
        PyGILState_STATE gil = py.PyGILState_Ensure();
        py.Py_DecRef(self->host);
        py.PyGILState_Release(gil);
    }
    free(self);
}

/* Host.<method>(problem) under the GIL: the problem described to Python, the call, its status. */
static attn_status call_with_problem(const python_backend *self, const char *method, const attn_problem *problem,
                                     char *msg, uint32_t msg_cap) {
    PyGILState_STATE gil = py.PyGILState_Ensure();
    attn_status st;
    PyObject *fields = problem_fields(problem);
    if (!fields) {
        py_error_message("python_host: cannot describe the problem to Python", msg, msg_cap);
        st = ATTN_E_INTERNAL;
    } else {
        st = call_host(self, method, fields, msg, msg_cap);
        py.Py_DecRef(fields);
    }
    py.PyGILState_Release(gil);
    return st;
}

/* check and run share host_glue's Host._check: run refuses exactly what check refuses. */
static attn_status py_check(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    return call_with_problem(backend, "check", problem, msg, msg_cap);
}

/* After a run that said it succeeded: every element of O and LSE must have been written. */
static attn_status check_written(const python_backend *self, const attn_problem *p, char *msg, uint32_t msg_cap) {
    const struct {
        const char *name;
        const DLTensor *t;
    } outs[] = {{"o", &p->o}, {"lse", &p->lse}};
    for (size_t n = 0; n < 2; ++n) {
        uint64_t total = 0, left = output_guard_untouched(outs[n].t, &total);
        if (!left) continue;
        if (left == total)
            snprintf(msg, msg_cap,
                     "python module %s: run() returned None but wrote nothing into problem.%s (%llu elements): "
                     "write into the view from_dlpack(problem.%s) gives, in place",
                     self->module, outs[n].name, (unsigned long long)total, outs[n].name);
        else
            snprintf(msg, msg_cap, "python module %s: run() left %llu of the %llu elements of problem.%s unwritten",
                     self->module, (unsigned long long)left, (unsigned long long)total, outs[n].name);
        return ATTN_E_INTERNAL;
    }
    return ATTN_OK;
}

static attn_status py_run(void *backend, const attn_problem *problem, char *msg, uint32_t msg_cap) {
    const python_backend *self = backend;
    output_guard_fill(&problem->o);
    output_guard_fill(&problem->lse);
    attn_status st = call_with_problem(self, "run", problem, msg, msg_cap);
    if (st == ATTN_OK) st = check_written(self, problem, msg, msg_cap);
    return st;
}

static attn_status py_describe(void *backend, char *out, uint32_t out_cap) {
    const python_backend *self = backend;
    char text[ATTN_MSG_CAP] = "";
    PyGILState_STATE gil = py.PyGILState_Ensure();
    PyObject *fn = py.PyObject_GetAttrString(self->host, "describe");
    PyObject *answer = fn ? py.PyObject_CallFunctionObjArgs(fn, NULL) : NULL;
    if (fn) py.Py_DecRef(fn);
    if (!answer || py_string_copy(answer, text, sizeof text) != 0) {
        py.PyErr_Clear();
        snprintf(text, sizeof text, "(describe failed)");
    }
    if (answer) py.Py_DecRef(answer);
    py.PyGILState_Release(gil);
    snprintf(out, out_cap, "Python module %s under %s; CPU only; %s", self->module, py_runtime_origin(), text);
    return ATTN_OK;
}

static const attn_plugin_api python_host_api = {
    .struct_size = sizeof(attn_plugin_api),
    .abi_version = ATTN_ABI_VERSION,
    .name = "python-host",
    .version = "0.1.0",
    .description = "a backend written in Python (option module), on tensors shared zero-copy through DLPack; "
                   "the interpreter is found from option python",
    .create = py_create,
    .destroy = py_destroy,
    .device_of = cpu_device_of,
    .check = py_check,
    .run = py_run,
    ATTN_CPU_DEVICE_SERVICES,
    .describe = py_describe,
};

ATTN_PLUGIN_ENTRY(python_host_api)
