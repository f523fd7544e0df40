// Made by compile_generator_cases.js from generator_cases.js (sha256 3c2722babed9b3c8900334bafd3f3d6ea5da5cfa4da57e381a8b07972d43df17): do not edit.
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
  var _marked = regeneratorRuntime.mark(g);
  function g(a) {
    return regeneratorRuntime.wrap(function g$(_context) {
      while (1) switch (_context.prev = _context.next) {
        case 0:
          _context.next = 2;
          return a;
        case 2:
          _context.next = 4;
          return a + 1;
        case 4:
          return _context.abrupt("return", a + 2);
        case 5:
        case "end":
          return _context.stop();
      }
    }, _marked);
  }
  return Promise.resolve([drain(g(1)), Array.from(g(5)), [...g(7)]]);
};
CASES.values_sent_in = function () {
  var _marked2 = regeneratorRuntime.mark(g);
  function g() {
    var x, y;
    return regeneratorRuntime.wrap(function g$(_context2) {
      while (1) switch (_context2.prev = _context2.next) {
        case 0:
          _context2.next = 2;
          return "first";
        case 2:
          x = _context2.sent;
          _context2.next = 5;
          return x * 2;
        case 5:
          y = _context2.sent;
          return _context2.abrupt("return", [x, y]);
        case 7:
        case "end":
          return _context2.stop();
      }
    }, _marked2);
  }
  return Promise.resolve(drain(g(), [10, 20]));
};
CASES.loops_break_continue = function () {
  var _marked3 = regeneratorRuntime.mark(g);
  function g(n) {
    var i, j;
    return regeneratorRuntime.wrap(function g$(_context3) {
      while (1) switch (_context3.prev = _context3.next) {
        case 0:
          i = 0;
        case 1:
          if (!(i < n)) {
            _context3.next = 11;
            break;
          }
          if (!(i === 1)) {
            _context3.next = 4;
            break;
          }
          return _context3.abrupt("continue", 8);
        case 4:
          if (!(i === 4)) {
            _context3.next = 6;
            break;
          }
          return _context3.abrupt("break", 11);
        case 6:
          _context3.next = 8;
          return i;
        case 8:
          i++;
          _context3.next = 1;
          break;
        case 11:
          j = 0;
        case 12:
          if (!true) {
            _context3.next = 20;
            break;
          }
          j++;
          if (!(j > 2)) {
            _context3.next = 16;
            break;
          }
          return _context3.abrupt("break", 20);
        case 16:
          _context3.next = 18;
          return "w" + j;
        case 18:
          _context3.next = 12;
          break;
        case 20:
          return _context3.abrupt("return", "end");
        case 21:
        case "end":
          return _context3.stop();
      }
    }, _marked3);
  }
  return Promise.resolve(drain(g(10)));
};
CASES.try_catch_and_throw_in = function () {
  var _marked4 = regeneratorRuntime.mark(g);
  var log = [];
  function g() {
    return regeneratorRuntime.wrap(function g$(_context4) {
      while (1) switch (_context4.prev = _context4.next) {
        case 0:
          _context4.prev = 0;
          _context4.next = 3;
          return 1;
        case 3:
          _context4.next = 5;
          return 2;
        case 5:
          _context4.next = 12;
          break;
        case 7:
          _context4.prev = 7;
          _context4.t0 = _context4["catch"](0);
          log.push("caught " + _context4.t0);
          _context4.next = 12;
          return "after catch";
        case 12:
          _context4.next = 14;
          return 3;
        case 14:
        case "end":
          return _context4.stop();
      }
    }, _marked4, null, [[0, 7]]);
  }
  var it = g();
  var a = it.next();
  var b = it.throw("boom");
  var c = it.next();
  var d = it.next();
  return Promise.resolve([a, b, c, d, log]);
};
CASES.uncaught_throw_ends_the_generator = function () {
  var _marked5 = regeneratorRuntime.mark(g);
  function g() {
    return regeneratorRuntime.wrap(function g$(_context5) {
      while (1) switch (_context5.prev = _context5.next) {
        case 0:
          _context5.next = 2;
          return 1;
        case 2:
          throw new Error("inner");
        case 3:
        case "end":
          return _context5.stop();
      }
    }, _marked5);
  }
  var it = g();
  var out = [it.next()];
  out.push(attemptCall(function () {
    return it.next();
  }));
  out.push(it.next());
  out.push(attemptCall(function () {
    return it.throw("late");
  }));
  out.push(it.return("after the end"), it.next());
  return Promise.resolve(out);
};
CASES.finally_runs_on_return_and_break = function () {
  var _marked6 = regeneratorRuntime.mark(g),
    _marked7 = regeneratorRuntime.mark(h);
  var log = [];
  function g() {
    return regeneratorRuntime.wrap(function g$(_context6) {
      while (1) switch (_context6.prev = _context6.next) {
        case 0:
          _context6.prev = 0;
          _context6.next = 3;
          return 1;
        case 3:
          return _context6.abrupt("return", "from try");
        case 4:
          _context6.prev = 4;
          log.push("finally 1");
          return _context6.finish(4);
        case 7:
        case "end":
          return _context6.stop();
      }
    }, _marked6, null, [[0,, 4, 7]]);
  }
  function h() {
    var i;
    return regeneratorRuntime.wrap(function h$(_context7) {
      while (1) switch (_context7.prev = _context7.next) {
        case 0:
          i = 0;
        case 1:
          if (!(i < 3)) {
            _context7.next = 13;
            break;
          }
          _context7.prev = 2;
          if (!(i === 1)) {
            _context7.next = 5;
            break;
          }
          return _context7.abrupt("break", 13);
        case 5:
          _context7.next = 7;
          return i;
        case 7:
          _context7.prev = 7;
          log.push("finally h" + i);
          return _context7.finish(7);
        case 10:
          i++;
          _context7.next = 1;
          break;
        case 13:
          _context7.prev = 13;
          _context7.prev = 14;
          _context7.next = 17;
          return "inner";
        case 17:
          return _context7.abrupt("return", "nested");
        case 18:
          _context7.prev = 18;
          log.push("inner finally");
          return _context7.finish(18);
        case 21:
          _context7.prev = 21;
          log.push("outer finally");
          return _context7.finish(21);
        case 24:
        case "end":
          return _context7.stop();
      }
    }, _marked7, null, [[2,, 7, 10], [13,, 21, 24], [14,, 18, 21]]);
  }
  return Promise.resolve([drain(g()), drain(h()), log]);
};
CASES.return_method_and_yield_in_finally = function () {
  var _marked8 = regeneratorRuntime.mark(g);
  var log = [];
  function g() {
    return regeneratorRuntime.wrap(function g$(_context8) {
      while (1) switch (_context8.prev = _context8.next) {
        case 0:
          _context8.prev = 0;
          _context8.next = 3;
          return 1;
        case 3:
          _context8.next = 5;
          return 2;
        case 5:
          _context8.prev = 5;
          log.push("cleanup");
          _context8.next = 9;
          return "from finally";
        case 9:
          log.push("after finally yield");
          return _context8.finish(5);
        case 11:
        case "end":
          return _context8.stop();
      }
    }, _marked8, null, [[0,, 5, 11]]);
  }
  var it = g();
  var out = [it.next(), it.return("early"), it.next(), it.next()];
  var fresh = g();
  out.push(fresh.return("never started"), fresh.next());
  return Promise.resolve([out, log]);
};
CASES.catch_rethrow_finally_order = function () {
  var _marked9 = regeneratorRuntime.mark(g);
  var log = [];
  function g() {
    return regeneratorRuntime.wrap(function g$(_context9) {
      while (1) switch (_context9.prev = _context9.next) {
        case 0:
          _context9.prev = 0;
          _context9.prev = 1;
          _context9.next = 4;
          return "a";
        case 4:
          throw new Error("first");
        case 7:
          _context9.prev = 7;
          _context9.t0 = _context9["catch"](1);
          log.push("inner catch " + _context9.t0.message);
          throw new Error("second");
        case 11:
          _context9.prev = 11;
          log.push("inner finally");
          return _context9.finish(11);
        case 14:
          _context9.next = 21;
          break;
        case 16:
          _context9.prev = 16;
          _context9.t1 = _context9["catch"](0);
          log.push("outer catch " + _context9.t1.message);
          _context9.next = 21;
          return "b";
        case 21:
          _context9.prev = 21;
          log.push("outer finally");
          return _context9.finish(21);
        case 24:
          return _context9.abrupt("return", "done");
        case 25:
        case "end":
          return _context9.stop();
      }
    }, _marked9, null, [[0, 16, 21, 24], [1, 7, 11, 14]]);
  }
  return Promise.resolve([drain(g()), log]);
};
CASES.throw_into_unstarted_generator = function () {
  var _marked0 = regeneratorRuntime.mark(g);
  function g() {
    return regeneratorRuntime.wrap(function g$(_context0) {
      while (1) switch (_context0.prev = _context0.next) {
        case 0:
          _context0.prev = 0;
          _context0.next = 3;
          return 1;
        case 3:
          _context0.next = 9;
          break;
        case 5:
          _context0.prev = 5;
          _context0.t0 = _context0["catch"](0);
          _context0.next = 9;
          return "never";
        case 9:
        case "end":
          return _context0.stop();
      }
    }, _marked0, null, [[0, 5]]);
  }
  var it = g();
  return Promise.resolve([attemptCall(function () {
    return it.throw("x");
  }), it.next()]);
};
CASES.delegation = function () {
  var _marked1 = regeneratorRuntime.mark(inner),
    _marked10 = regeneratorRuntime.mark(outer);
  var log = [];
  function inner() {
    var got;
    return regeneratorRuntime.wrap(function inner$(_context1) {
      while (1) switch (_context1.prev = _context1.next) {
        case 0:
          _context1.next = 2;
          return "i1";
        case 2:
          got = _context1.sent;
          log.push("inner got " + got);
          _context1.prev = 4;
          _context1.next = 7;
          return "i2";
        case 7:
          _context1.next = 14;
          break;
        case 9:
          _context1.prev = 9;
          _context1.t0 = _context1["catch"](4);
          log.push("inner caught " + _context1.t0);
          _context1.next = 14;
          return "i3";
        case 14:
          _context1.prev = 14;
          log.push("inner finally");
          return _context1.finish(14);
        case 17:
          return _context1.abrupt("return", "inner result");
        case 18:
        case "end":
          return _context1.stop();
      }
    }, _marked1, null, [[4, 9, 14, 17]]);
  }
  function outer() {
    var r;
    return regeneratorRuntime.wrap(function outer$(_context10) {
      while (1) switch (_context10.prev = _context10.next) {
        case 0:
          return _context10.delegateYield(inner(), "t0", 1);
        case 1:
          r = _context10.t0;
          log.push("outer got " + r);
          return _context10.delegateYield([10, 20], "t1", 4);
        case 4:
          return _context10.delegateYield("ab", "t2", 5);
        case 5:
          return _context10.abrupt("return", "outer done");
        case 6:
        case "end":
          return _context10.stop();
      }
    }, _marked10);
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
  var _marked11 = regeneratorRuntime.mark(g);
  var log = [];
  var iterable = {};
  iterable[Symbol.iterator] = function () {
    var i = 0;
    return {
      next: function () {
        i++;
        return {
          value: i,
          done: i > 3
        };
      },
      return: function () {
        log.push("closed");
        return {
          done: true
        };
      }
    };
  };
  function g() {
    return regeneratorRuntime.wrap(function g$(_context11) {
      while (1) switch (_context11.prev = _context11.next) {
        case 0:
          return _context11.delegateYield(iterable, "t0", 1);
        case 1:
        case "end":
          return _context11.stop();
      }
    }, _marked11);
  }
  var it = g();
  it.next();
  var r = attemptCall(function () {
    return it.throw("x");
  });
  return Promise.resolve([r[0], r[1] instanceof Object ? "object" : typeof r[1], log, it.next()]);
};
CASES.for_in_keys = function () {
  var _marked12 = regeneratorRuntime.mark(g);
  function g(obj) {
    var k;
    return regeneratorRuntime.wrap(function g$(_context12) {
      while (1) switch (_context12.prev = _context12.next) {
        case 0:
          _context12.t0 = regeneratorRuntime.keys(obj);
        case 1:
          if ((_context12.t1 = _context12.t0()).done) {
            _context12.next = 8;
            break;
          }
          k = _context12.t1.value;
          if (k === "a") delete obj.c;
          _context12.next = 6;
          return k;
        case 6:
          _context12.next = 1;
          break;
        case 8:
        case "end":
          return _context12.stop();
      }
    }, _marked12);
  }
  return Promise.resolve(drain(g({
    a: 1,
    b: 2,
    c: 3,
    d: 4
  })));
};
CASES.generator_objects = function () {
  var _marked13 = regeneratorRuntime.mark(g),
    _marked14 = regeneratorRuntime.mark(self);
  function g() {
    return regeneratorRuntime.wrap(function g$(_context13) {
      while (1) switch (_context13.prev = _context13.next) {
        case 0:
          _context13.next = 2;
          return 1;
        case 2:
        case "end":
          return _context13.stop();
      }
    }, _marked13);
  }
  var it = g();
  var reentry = [];
  function self() {
    return regeneratorRuntime.wrap(function self$(_context14) {
      while (1) switch (_context14.prev = _context14.next) {
        case 0:
          reentry.push(attemptCall(function () {
            return me.next();
          }));
          _context14.next = 3;
          return 1;
        case 3:
        case "end":
          return _context14.stop();
      }
    }, _marked14);
  }
  var me = self();
  me.next();
  return Promise.resolve([it[Symbol.iterator]() === it, Object.prototype.toString.call(it), typeof it.next, g.prototype.isPrototypeOf(it), reentry]);
};
CASES.arguments_and_this = function () {
  var obj = {
    base: 100,
    gen: regeneratorRuntime.mark(function _callee(a, b) {
      var _args15 = arguments;
      return regeneratorRuntime.wrap(function _callee$(_context15) {
        while (1) switch (_context15.prev = _context15.next) {
          case 0:
            _context15.next = 2;
            return this.base + a;
          case 2:
            _context15.next = 4;
            return _args15.length;
          case 4:
            _context15.next = 6;
            return b;
          case 6:
          case "end":
            return _context15.stop();
        }
      }, _callee, this);
    })
  };
  return Promise.resolve(drain(obj.gen(1, 2)));
};
CASES.async_await = function () {
  var log = [];
  function later(v, ms) {
    return new Promise(function (resolve) {
      setTimeout(function () {
        resolve(v);
      }, ms);
    });
  }
  function f(x) {
    var a, b;
    return regeneratorRuntime.async(function f$(_context16) {
      while (1) switch (_context16.prev = _context16.next) {
        case 0:
          log.push("start");
          _context16.next = 3;
          return regeneratorRuntime.awrap(later(x, 5));
        case 3:
          a = _context16.sent;
          _context16.next = 6;
          return regeneratorRuntime.awrap(a + 1);
        case 6:
          b = _context16.sent;
          _context16.prev = 7;
          _context16.next = 10;
          return regeneratorRuntime.awrap(Promise.reject(new Error("rejected")));
        case 10:
          _context16.next = 15;
          break;
        case 12:
          _context16.prev = 12;
          _context16.t0 = _context16["catch"](7);
          log.push("caught " + _context16.t0.message);
        case 15:
          _context16.prev = 15;
          log.push("finally");
          return _context16.finish(15);
        case 18:
          return _context16.abrupt("return", [a, b]);
        case 19:
        case "end":
          return _context16.stop();
      }
    }, null, null, [[7, 12, 15, 18]], Promise);
  }
  function fails() {
    return regeneratorRuntime.async(function fails$(_context17) {
      while (1) switch (_context17.prev = _context17.next) {
        case 0:
          _context17.next = 2;
          return regeneratorRuntime.awrap(null);
        case 2:
          throw new Error("async failure");
        case 3:
        case "end":
          return _context17.stop();
      }
    }, null, null, null, Promise);
  }
  return f(1).then(function (r) {
    return fails().then(function () {
      return ["unexpected"];
    }, function (e) {
      return [r, e.message, log];
    });
  });
};
CASES.async_order = function () {
  var log = [];
  function a() {
    return regeneratorRuntime.async(function a$(_context18) {
      while (1) switch (_context18.prev = _context18.next) {
        case 0:
          log.push("a1");
          _context18.next = 3;
          return regeneratorRuntime.awrap(null);
        case 3:
          log.push("a2");
          _context18.next = 6;
          return regeneratorRuntime.awrap(null);
        case 6:
          log.push("a3");
        case 7:
        case "end":
          return _context18.stop();
      }
    }, null, null, null, Promise);
  }
  function b() {
    return regeneratorRuntime.async(function b$(_context19) {
      while (1) switch (_context19.prev = _context19.next) {
        case 0:
          log.push("b1");
          _context19.next = 3;
          return regeneratorRuntime.awrap(null);
        case 3:
          log.push("b2");
        case 4:
        case "end":
          return _context19.stop();
      }
    }, null, null, null, Promise);
  }
  var p = Promise.all([a(), b()]);
  log.push("sync end");
  return p.then(function () {
    return log;
  });
};
CASES.async_generator = function () {
  var _marked15 = regeneratorRuntime.mark(g);
  var log = [];
  function g() {
    var x, sent;
    return regeneratorRuntime.async(function g$(_context20) {
      while (1) switch (_context20.prev = _context20.next) {
        case 0:
          _context20.prev = 0;
          _context20.next = 3;
          return 1;
        case 3:
          _context20.next = 5;
          return regeneratorRuntime.awrap(Promise.resolve(2));
        case 5:
          x = _context20.sent;
          _context20.next = 8;
          return x;
        case 8:
          sent = _context20.sent;
          log.push("sent " + sent);
          _context20.next = 12;
          return Promise.resolve(3);
        case 12:
          _context20.prev = 12;
          log.push("async finally");
          return _context20.finish(12);
        case 15:
        case "end":
          return _context20.stop();
      }
    }, _marked15, null, [[0,, 12, 15]], Promise);
  }
  var it = g();
  var results = [];
  return it.next().then(function (r) {
    results.push(r);
    return it.next();
  }).then(function (r) {
    results.push(r);
    return it.next("hello");
  }).then(function (r) {
    results.push(r);
    return it.return("stop");
  }).then(function (r) {
    results.push(r);
    return it.next();
  }).then(function (r) {
    results.push(r);
    return [results, log];
  });
};
CASES.async_generator_queue_and_errors = function () {
  var _marked16 = regeneratorRuntime.mark(g);
  function g() {
    return regeneratorRuntime.async(function g$(_context21) {
      while (1) switch (_context21.prev = _context21.next) {
        case 0:
          _context21.next = 2;
          return "x";
        case 2:
          throw new Error("gen error");
        case 3:
        case "end":
          return _context21.stop();
      }
    }, _marked16, null, null, Promise);
  }
  var it = g();
  var all = Promise.all([it.next(), it.next().catch(function (e) {
    return "rejected: " + e.message;
  }), it.next()]);
  return all;
};
