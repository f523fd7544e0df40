/*
 * The runtime that generator and async functions compiled by Babel's regenerator
 * transform call (`regeneratorRuntime.mark`, `.wrap`, `.awrap`, `.async`, `.keys`,
 * `.values`), written for this dashboard.
 *
 * Dash's scripts are compiled that way and call a global `regeneratorRuntime`. Dash
 * serves it inside Babel's 2018 polyfill (core-js 2), which also rewires builtins that
 * every current browser has (typed arrays, String.prototype.trim, parseInt, ...): on
 * the first render of a 10,000-trial Pareto view that costs about 0.1 s (running it,
 * then slower typed arrays and string functions in Plotly). The page loads this file
 * instead and leaves the browser's builtins alone.
 *
 * A compiled function is a state machine: `innerFn(context)` runs from `context.next`
 * to the next `yield` (it returns the yielded value), `return` (`context.abrupt`) or the
 * end (`context.stop`). Try statements are listed as [tryLoc, catchLoc, finallyLoc,
 * afterLoc]; the context routes exceptions and abrupt completions (return, break,
 * continue) through their catch and finally blocks.
 * tests/dashboards/test_generator_runtime.py runs compiled functions against the
 * browser's own generators.
 */
(function (global) {
  "use strict";
  if (global.regeneratorRuntime) return; // another runtime is there already: keep it

  var CONTINUE = {}; // returned by context methods: carry on with the state machine
  var hasOwn = Object.prototype.hasOwnProperty;
  var iteratorSymbol = Symbol.iterator;
  var asyncIteratorSymbol = Symbol.asyncIterator;
  var tagSymbol = Symbol.toStringTag;

  function attempt(fn, self, arg) {
    try {
      return { type: "normal", arg: fn.call(self, arg) };
    } catch (err) {
      return { type: "throw", arg: err };
    }
  }

  // -- generator functions and objects ------------------------------------------------

  function Generator() {}
  function GeneratorFunction() {}
  function GeneratorFunctionPrototype() {}

  var IteratorPrototype = {};
  IteratorPrototype[iteratorSymbol] = function () {
    return this;
  };
  var GeneratorPrototype = Object.create(IteratorPrototype);
  Generator.prototype = GeneratorPrototype;
  GeneratorFunctionPrototype.prototype = GeneratorPrototype;
  GeneratorFunction.prototype = GeneratorFunctionPrototype;
  GeneratorPrototype.constructor = GeneratorFunctionPrototype;
  GeneratorFunctionPrototype.constructor = GeneratorFunction;
  GeneratorFunction.displayName = "GeneratorFunction";
  GeneratorFunctionPrototype[tagSymbol] = "GeneratorFunction";
  GeneratorPrototype[tagSymbol] = "Generator";
  GeneratorPrototype.toString = function () {
    return "[object Generator]";
  };
  ["next", "throw", "return"].forEach(function (method) {
    GeneratorPrototype[method] = function (arg) {
      return this._invoke(method, arg);
    };
  });

  function mark(genFun) {
    Object.setPrototypeOf(genFun, GeneratorFunctionPrototype);
    genFun.prototype = Object.create(GeneratorPrototype);
    return genFun;
  }

  function isGeneratorFunction(genFun) {
    var ctor = typeof genFun === "function" && genFun.constructor;
    return ctor
      ? ctor === GeneratorFunction || (ctor.displayName || ctor.name) === "GeneratorFunction"
      : false;
  }

  function wrap(innerFn, outerFn, self, tryLocsList) {
    var proto = outerFn && outerFn.prototype instanceof Generator ? outerFn.prototype : Generator.prototype;
    var generator = Object.create(proto);
    var context = new Context(tryLocsList || []);
    generator._invoke = makeInvoke(innerFn, self, context);
    return generator;
  }

  // The generator's states: not started, suspended at a yield, running, finished.
  var START = 0;
  var YIELDED = 1;
  var RUNNING = 2;
  var DONE = 3;

  function makeInvoke(innerFn, self, context) {
    var state = START;
    return function invoke(method, arg) {
      if (state === RUNNING) throw new Error("Generator is already running");
      if (state === DONE) {
        if (method === "throw") throw arg;
        return { value: method === "return" ? arg : undefined, done: true };
      }
      if (state === START && method === "return") {
        state = DONE; // never started: no try statement to leave, as for a native generator
        return { value: arg, done: true };
      }
      context.method = method;
      context.arg = arg;
      for (;;) {
        if (context.delegate) {
          var delegated = stepDelegate(context.delegate, context);
          if (delegated === CONTINUE) continue;
          if (delegated) return delegated;
        }
        if (context.method === "next") {
          context.sent = context._sent = context.arg;
        } else if (context.method === "throw") {
          if (state === START) {
            state = DONE;
            throw context.arg;
          }
          context.dispatchException(context.arg);
        } else if (context.method === "return") {
          context.abrupt("return", context.arg);
        }
        state = RUNNING;
        var record = attempt(innerFn, self, context);
        if (record.type === "normal") {
          state = context.done ? DONE : YIELDED;
          if (record.arg === CONTINUE) continue;
          return { value: record.arg, done: context.done };
        }
        // thrown from the body: route it through the try statements around it
        state = DONE;
        context.method = "throw";
        context.arg = record.arg;
      }
    };
  }

  // One step of `yield* iterable`: the iterator's result to yield, or CONTINUE.
  function stepDelegate(delegate, context) {
    var iterator = delegate.iterator;
    var method = iterator[context.method];
    if (method === undefined) {
      context.delegate = null;
      if (context.method === "throw") {
        // the iterator cannot take the exception: close it, then throw a TypeError
        if (iterator["return"] !== undefined) {
          context.method = "return";
          context.arg = undefined;
          stepDelegate(delegate, context);
          if (context.method === "throw") return CONTINUE;
        }
        context.method = "throw";
        context.arg = new TypeError("The iterator does not provide a 'throw' method");
      }
      return CONTINUE;
    }
    var record = attempt(method, iterator, context.arg);
    if (record.type === "throw") {
      context.method = "throw";
      context.arg = record.arg;
      context.delegate = null;
      return CONTINUE;
    }
    var info = record.arg;
    if (!info || typeof info !== "object") {
      context.method = "throw";
      context.arg = new TypeError("iterator result is not an object");
      context.delegate = null;
      return CONTINUE;
    }
    if (!info.done) return info; // yielded by the inner iterator: pass it out as it is
    context[delegate.resultName] = info.value;
    context.next = delegate.nextLoc;
    if (context.method !== "return") {
      context.method = "next";
      context.arg = undefined;
    }
    context.delegate = null;
    return CONTINUE;
  }

  // -- the context a compiled body runs with ------------------------------------------

  function TryEntry(locs) {
    this.tryLoc = locs[0];
    if (1 in locs) this.catchLoc = locs[1];
    if (2 in locs) this.finallyLoc = locs[2];
    if (3 in locs) this.afterLoc = locs[3];
    this.completion = { type: "normal" };
  }

  function Context(tryLocsList) {
    // entry 0 stands for the function body: an exception that reaches it ends the call
    this.tryEntries = [{ tryLoc: "root", completion: { type: "normal" } }];
    for (var i = 0; i < tryLocsList.length; i++) this.tryEntries.push(new TryEntry(tryLocsList[i]));
    this.reset(true);
  }

  function resetEntry(entry) {
    entry.completion = { type: "normal" };
  }

  Context.prototype = {
    constructor: Context,

    reset: function (keepTemps) {
      this.prev = 0;
      this.next = 0;
      this.sent = this._sent = undefined;
      this.done = false;
      this.delegate = null;
      this.method = "next";
      this.arg = undefined;
      this.rval = undefined;
      this.tryEntries.forEach(resetEntry);
      if (!keepTemps) {
        for (var name in this) {
          // the compiler's temporaries are t0, t1, ...
          if (name.charAt(0) === "t" && hasOwn.call(this, name) && /^t\d+$/.test(name)) {
            this[name] = undefined;
          }
        }
      }
    },

    stop: function () {
      this.done = true;
      var root = this.tryEntries[0].completion;
      if (root.type === "throw") throw root.arg;
      return this.rval;
    },

    // Send an exception to the innermost try statement that covers `prev`.
    dispatchException: function (exception) {
      if (this.done) throw exception;
      var context = this;
      function handle(record, loc, caught) {
        record.type = "throw";
        record.arg = exception;
        context.next = loc;
        if (caught) {
          // the catch block runs as the body would after a `next`
          context.method = "next";
          context.arg = undefined;
        }
        return caught;
      }
      for (var i = this.tryEntries.length - 1; i >= 0; --i) {
        var entry = this.tryEntries[i];
        if (entry.tryLoc === "root") return handle(entry.completion, "end", false);
        if (entry.tryLoc > this.prev) continue;
        var hasCatch = hasOwn.call(entry, "catchLoc");
        var hasFinally = hasOwn.call(entry, "finallyLoc");
        if (!hasCatch && !hasFinally) throw new Error("try statement without catch or finally");
        if (hasCatch && this.prev < entry.catchLoc) return handle(entry.completion, entry.catchLoc, true);
        if (hasFinally && this.prev < entry.finallyLoc) return handle(entry.completion, entry.finallyLoc, false);
      }
    },

    // `return`, `break` or `continue` (arg: the value or the target location): through
    // the finally block of the innermost try statement it leaves, if any.
    abrupt: function (type, arg) {
      var through = null;
      for (var i = this.tryEntries.length - 1; i >= 0; --i) {
        var entry = this.tryEntries[i];
        if (entry.tryLoc <= this.prev && hasOwn.call(entry, "finallyLoc") && this.prev < entry.finallyLoc) {
          through = entry;
          break;
        }
      }
      if (through && (type === "break" || type === "continue") && through.tryLoc <= arg && arg <= through.finallyLoc) {
        through = null; // the jump stays inside that try statement
      }
      var record = through ? through.completion : {};
      record.type = type;
      record.arg = arg;
      if (through) {
        this.method = "next";
        this.next = through.finallyLoc;
        return CONTINUE;
      }
      return this.complete(record);
    },

    complete: function (record, afterLoc) {
      if (record.type === "throw") throw record.arg;
      if (record.type === "break" || record.type === "continue") {
        this.next = record.arg;
      } else if (record.type === "return") {
        this.rval = this.arg = record.arg;
        this.method = "return";
        this.next = "end";
      } else if (record.type === "normal" && afterLoc) {
        this.next = afterLoc;
      }
      return CONTINUE;
    },

    // End of the finally block at `finallyLoc`: resume what entered it.
    finish: function (finallyLoc) {
      for (var i = this.tryEntries.length - 1; i >= 0; --i) {
        var entry = this.tryEntries[i];
        if (entry.finallyLoc === finallyLoc) {
          var record = entry.completion;
          resetEntry(entry);
          return this.complete(record, entry.afterLoc);
        }
      }
    },

    // Start of the catch block of the try at `tryLoc`: the exception it caught.
    catch: function (tryLoc) {
      for (var i = this.tryEntries.length - 1; i >= 0; --i) {
        var entry = this.tryEntries[i];
        if (entry.tryLoc === tryLoc) {
          var record = entry.completion;
          var thrown;
          if (record.type === "throw") thrown = record.arg;
          resetEntry(entry);
          return thrown;
        }
      }
      throw new Error("illegal catch attempt");
    },

    delegateYield: function (iterable, resultName, nextLoc) {
      this.delegate = { iterator: values(iterable), resultName: resultName, nextLoc: nextLoc };
      if (this.method === "next") this.arg = undefined; // the first step sends nothing
      return CONTINUE;
    },
  };

  // -- iteration helpers the compiler calls -------------------------------------------

  function values(iterable) {
    if (iterable != null) {
      var method = iterable[iteratorSymbol];
      if (method) return method.call(iterable);
      if (typeof iterable.next === "function") return iterable;
      if (!isNaN(iterable.length)) {
        var i = -1;
        return {
          next: function () {
            i += 1;
            return i < iterable.length ? { value: iterable[i], done: false } : { value: undefined, done: true };
          },
        };
      }
    }
    throw new TypeError(typeof iterable + " is not iterable");
  }

  // `for (key in object)` in a compiled body: a function giving the next key still there.
  function keys(object) {
    var names = [];
    for (var name in object) names.push(name);
    var i = 0;
    return function next() {
      while (i < names.length) {
        var key = names[i++];
        if (key in object) return { value: key, done: false };
      }
      return { value: undefined, done: true };
    };
  }

  // -- async functions and async generators -------------------------------------------

  function awrap(arg) {
    return { __await: arg };
  }

  function AsyncIterator(generator, PromiseImpl) {
    function step(method, arg, resolve, reject) {
      var record = attempt(generator[method], generator, arg);
      if (record.type === "throw") {
        reject(record.arg);
        return;
      }
      var result = record.arg;
      var value = result.value;
      if (value && typeof value === "object" && hasOwn.call(value, "__await")) {
        // an `await`: resume the body with what it settles to
        PromiseImpl.resolve(value.__await).then(
          function (v) {
            step("next", v, resolve, reject);
          },
          function (err) {
            step("throw", err, resolve, reject);
          },
        );
        return;
      }
      // a `yield` of an async generator: its value settles before it is handed out
      PromiseImpl.resolve(value).then(
        function (settled) {
          result.value = settled;
          resolve(result);
        },
        function (err) {
          step("throw", err, resolve, reject);
        },
      );
    }
    var queue; // requests run one after another, as for a native async generator
    this._invoke = function (method, arg) {
      function run() {
        return new PromiseImpl(function (resolve, reject) {
          step(method, arg, resolve, reject);
        });
      }
      queue = queue ? queue.then(run, run) : run();
      return queue;
    };
  }
  ["next", "throw", "return"].forEach(function (method) {
    AsyncIterator.prototype[method] = function (arg) {
      return this._invoke(method, arg);
    };
  });
  AsyncIterator.prototype[asyncIteratorSymbol] = function () {
    return this;
  };

  function runAsync(innerFn, outerFn, self, tryLocsList, PromiseImpl) {
    var iterator = new AsyncIterator(wrap(innerFn, outerFn, self, tryLocsList), PromiseImpl || Promise);
    if (isGeneratorFunction(outerFn)) return iterator; // an async generator
    return iterator.next().then(function (result) {
      return result.value; // an async function: every yield was an await, this is its return
    });
  }

  global.regeneratorRuntime = {
    mark: mark,
    wrap: wrap,
    isGeneratorFunction: isGeneratorFunction,
    awrap: awrap,
    AsyncIterator: AsyncIterator,
    async: runAsync,
    keys: keys,
    values: values,
  };
})(typeof globalThis === "object" ? globalThis : window);
