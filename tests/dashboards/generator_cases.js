/*
 * Cases for dashboards/generator_runtime.js: generator and async functions whose results
 * (a trace of what happened) are compared between the browser's own functions (this
 * file as it is) and the same functions compiled by Babel's regenerator transform
 * (generator_cases.compiled.js, which runs on the runtime; see test_generator_runtime.py
 * for how it is made). Each case returns a promise of its trace.
 */
var CASES = {};

function drain(it, sends) {
  var out = [];
  var r = it.next();
  for (var i = 0; !r.done && i < 50; i++) {
    out.push(r.value);
    r = it.next(sends ? sends[i] : undefined);
  }
  out.push(["done", r.value]);
  return out;
}

function attemptCall(fn) {
  try {
    return ["ok", fn()];
  } catch (e) {
    return ["threw", e instanceof Error ? e.message : e];
  }
}

CASES.yields_and_return = function () {
  function* g(a) {
    yield a;
    yield a + 1;
    return a + 2;
  }
  return Promise.resolve([drain(g(1)), Array.from(g(5)), [...g(7)]]);
};

CASES.values_sent_in = function () {
  function* g() {
    var x = yield "first";
    var y = yield x * 2;
    return [x, y];
  }
  return Promise.resolve(drain(g(), [10, 20]));
};

CASES.loops_break_continue = function () {
  function* g(n) {
    for (var i = 0; i < n; i++) {
      if (i === 1) continue;
      if (i === 4) break;
      yield i;
    }
    var j = 0;
    while (true) {
      j++;
      if (j > 2) break;
      yield "w" + j;
    }
    return "end";
  }
  return Promise.resolve(drain(g(10)));
};

CASES.try_catch_and_throw_in = function () {
  var log = [];
  function* g() {
    try {
      yield 1;
      yield 2;
    } catch (e) {
      log.push("caught " + e);
      yield "after catch";
    }
    yield 3;
  }
  var it = g();
  var a = it.next();
  var b = it.throw("boom");
  var c = it.next();
  var d = it.next();
  return Promise.resolve([a, b, c, d, log]);
};

CASES.uncaught_throw_ends_the_generator = function () {
  function* g() {
    yield 1;
    throw new Error("inner");
  }
  var it = g();
  var out = [it.next()];
  out.push(attemptCall(function () { return it.next(); }));
  out.push(it.next());
  out.push(attemptCall(function () { return it.throw("late"); }));
  out.push(it.return("after the end"), it.next());
  return Promise.resolve(out);
};

CASES.finally_runs_on_return_and_break = function () {
  var log = [];
  function* g() {
    try {
      yield 1;
      return "from try";
    } finally {
      log.push("finally 1");
    }
  }
  function* h() {
    for (var i = 0; i < 3; i++) {
      try {
        if (i === 1) break;
        yield i;
      } finally {
        log.push("finally h" + i);
      }
    }
    try {
      try {
        yield "inner";
        return "nested";
      } finally {
        log.push("inner finally");
      }
    } finally {
      log.push("outer finally");
    }
  }
  return Promise.resolve([drain(g()), drain(h()), log]);
};

CASES.return_method_and_yield_in_finally = function () {
  var log = [];
  function* g() {
    try {
      yield 1;
      yield 2;
    } finally {
      log.push("cleanup");
      yield "from finally";
      log.push("after finally yield");
    }
  }
  var it = g();
  var out = [it.next(), it.return("early"), it.next(), it.next()];
  var fresh = g();
  out.push(fresh.return("never started"), fresh.next());
  return Promise.resolve([out, log]);
};

CASES.catch_rethrow_finally_order = function () {
  var log = [];
  function* g() {
    try {
      try {
        yield "a";
        throw new Error("first");
      } catch (e) {
        log.push("inner catch " + e.message);
        throw new Error("second");
      } finally {
        log.push("inner finally");
      }
    } catch (e) {
      log.push("outer catch " + e.message);
      yield "b";
    } finally {
      log.push("outer finally");
    }
    return "done";
  }
  return Promise.resolve([drain(g()), log]);
};

CASES.throw_into_unstarted_generator = function () {
  function* g() {
    try {
      yield 1;
    } catch (e) {
      yield "never";
    }
  }
  var it = g();
  return Promise.resolve([attemptCall(function () { return it.throw("x"); }), it.next()]);
};

CASES.delegation = function () {
  var log = [];
  function* inner() {
    var got = yield "i1";
    log.push("inner got " + got);
    try {
      yield "i2";
    } catch (e) {
      log.push("inner caught " + e);
      yield "i3";
    } finally {
      log.push("inner finally");
    }
    return "inner result";
  }
  function* outer() {
    var r = yield* inner();
    log.push("outer got " + r);
    yield* [10, 20];
    yield* "ab";
    return "outer done";
  }
  var it = outer();
  var out = [it.next(), it.next("sent"), it.throw("thrown in"), it.next(), it.next(), it.next(), it.next(), it.next()];
  var closing = outer();
  closing.next();
  closing.next();
  out.push(closing.return("closed"), closing.next());
  return Promise.resolve([out, log]);
};

CASES.delegation_to_iterator_without_throw = function () {
  var log = [];
  var iterable = {};
  iterable[Symbol.iterator] = function () {
    var i = 0;
    return {
      next: function () {
        i++;
        return { value: i, done: i > 3 };
      },
      return: function () {
        log.push("closed");
        return { done: true };
      },
    };
  };
  function* g() {
    yield* iterable;
  }
  var it = g();
  it.next();
  var r = attemptCall(function () { return it.throw("x"); });
  return Promise.resolve([r[0], r[1] instanceof Object ? "object" : typeof r[1], log, it.next()]);
};

CASES.for_in_keys = function () {
  function* g(obj) {
    for (var k in obj) {
      if (k === "a") delete obj.c;
      yield k;
    }
  }
  return Promise.resolve(drain(g({ a: 1, b: 2, c: 3, d: 4 })));
};

CASES.generator_objects = function () {
  function* g() {
    yield 1;
  }
  var it = g();
  var reentry = [];
  function* self() {
    reentry.push(attemptCall(function () { return me.next(); }));
    yield 1;
  }
  var me = self();
  me.next();
  return Promise.resolve([
    it[Symbol.iterator]() === it,
    Object.prototype.toString.call(it),
    typeof it.next,
    g.prototype.isPrototypeOf(it),
    reentry,
  ]);
};

CASES.arguments_and_this = function () {
  var obj = {
    base: 100,
    gen: function* (a, b) {
      yield this.base + a;
      yield arguments.length;
      yield b;
    },
  };
  return Promise.resolve(drain(obj.gen(1, 2)));
};

CASES.async_await = function () {
  var log = [];
  function later(v, ms) {
    return new Promise(function (resolve) {
      setTimeout(function () { resolve(v); }, ms);
    });
  }
  async function f(x) {
    log.push("start");
    var a = await later(x, 5);
    var b = await (a + 1);
    try {
      await Promise.reject(new Error("rejected"));
    } catch (e) {
      log.push("caught " + e.message);
    } finally {
      log.push("finally");
    }
    return [a, b];
  }
  async function fails() {
    await null;
    throw new Error("async failure");
  }
  return f(1).then(function (r) {
    return fails().then(
      function () { return ["unexpected"]; },
      function (e) { return [r, e.message, log]; },
    );
  });
};

CASES.async_order = function () {
  var log = [];
  async function a() {
    log.push("a1");
    await null;
    log.push("a2");
    await null;
    log.push("a3");
  }
  async function b() {
    log.push("b1");
    await null;
    log.push("b2");
  }
  var p = Promise.all([a(), b()]);
  log.push("sync end");
  return p.then(function () {
    return log;
  });
};

CASES.async_generator = function () {
  var log = [];
  async function* g() {
    try {
      yield 1;
      var x = await Promise.resolve(2);
      var sent = yield x;
      log.push("sent " + sent);
      yield Promise.resolve(3);
    } finally {
      log.push("async finally");
    }
  }
  var it = g();
  var results = [];
  return it.next()
    .then(function (r) { results.push(r); return it.next(); })
    .then(function (r) { results.push(r); return it.next("hello"); })
    .then(function (r) { results.push(r); return it.return("stop"); })
    .then(function (r) { results.push(r); return it.next(); })
    .then(function (r) { results.push(r); return [results, log]; });
};

CASES.async_generator_queue_and_errors = function () {
  async function* g() {
    yield "x";
    throw new Error("gen error");
  }
  var it = g();
  var all = Promise.all([it.next(), it.next().catch(function (e) { return "rejected: " + e.message; }), it.next()]);
  return all;
};
