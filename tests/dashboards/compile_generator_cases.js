/*
 * Makes generator_cases.compiled.js from generator_cases.js with Babel's regenerator
 * transform of Babel 7.12 (the generation Dash's scripts were compiled with): generator
 * and async functions become state machines that call the global regeneratorRuntime.
 *
 *   cd "$(mktemp -d)" && npm install @babel/core@7.12.10 @babel/plugin-transform-regenerator@7.12.1 \
 *     && NODE_PATH="$PWD/node_modules" node /path/to/tests/dashboards/compile_generator_cases.js
 */
const babel = require("@babel/core");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const src = path.join(__dirname, "generator_cases.js");
const dst = path.join(__dirname, "generator_cases.compiled.js");
const text = fs.readFileSync(src, "utf8");
const out = babel.transformSync(text, {
  babelrc: false,
  configFile: false,
  comments: false,
  plugins: [["@babel/plugin-transform-regenerator", { asyncGenerators: true, generators: true, async: true }]],
});
const digest = crypto.createHash("sha256").update(text).digest("hex");
fs.writeFileSync(
  dst,
  `// Made by compile_generator_cases.js from generator_cases.js (sha256 ${digest}): do not edit.\n` +
    out.code +
    "\n",
);
