// @ts-check
/**
 * Rejects code Espruino 2v29 cannot run although V8 can (ESPRUINO.md, measured):
 * destructuring, spread, rest and default parameters, computed keys, `?.`,
 * `**`, BigInt, `new.target`, async/await, generators, labels, tagged
 * templates, class fields, regex lookbehind, array holes inside a switch case
 * (a 2v29 parser bug), and reliance on hoisting: a function declaration or a
 * `var` used, in the same statement list, before the statement declaring it
 * (Espruino hoists neither). Uses inside nested functions are not flagged:
 * they usually run later. Results are cached per source text.
 */
'use strict';
const acorn = require('acorn');

/**
 * @typedef {object} Finding
 * @property {string} what
 * @property {number} line
 * @property {number} column
 * @property {boolean} fatal   false: only suspicious (support unknown)
 */

/** @type {Map<string, Finding[]>} */
const cache = new Map();

const FN = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/**
 * @param {string} code @returns {Finding[]}
 */
function check(code) {
  const hit = cache.get(code);
  if (hit) return hit;
  /** @type {Finding[]} */
  const out = [];
  /** @type {any} */
  let ast;
  try {
    ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowHashBang: true, allowReturnOutsideFunction: true });
  } catch (e) {
    const err = /** @type {any} */ (e);
    out.push({ what: 'syntax error: ' + err.message, line: err.loc ? err.loc.line : 0, column: err.loc ? err.loc.column : 0, fatal: true });
    cache.set(code, out);
    return out;
  }
  /** @param {any} n @param {string} what @param {boolean} [fatal] */
  const add = (n, what, fatal) => out.push({ what, line: n.loc.start.line, column: n.loc.start.column, fatal: fatal !== false });

  /**
   * Identifiers a statement reads at its own level (nested functions excluded).
   * @param {any} node @param {Set<string>} refs
   */
  const refsOf = (node, refs) => {
    /** @param {any} n */
    const walk = (n) => {
      if (!n || typeof n.type !== 'string') return;
      if (FN.has(n.type)) return;
      if (n.type === 'Identifier') { refs.add(n.name); return; }
      for (const k of Object.keys(n)) {
        if (k === 'loc' || k === 'start' || k === 'end') continue;
        if (n.type === 'MemberExpression' && k === 'property' && !n.computed) continue;
        if ((n.type === 'Property' || n.type === 'MethodDefinition' || n.type === 'PropertyDefinition') && k === 'key' && !n.computed) continue;
        if (n.type === 'VariableDeclarator' && k === 'id') continue;
        if ((n.type === 'LabeledStatement' || n.type === 'BreakStatement' || n.type === 'ContinueStatement') && k === 'label') continue;
        if (n.type === 'ClassDeclaration' && k === 'id') continue;
        const c = n[k];
        if (Array.isArray(c)) c.forEach(walk);
        else if (c && typeof c.type === 'string') walk(c);
      }
    };
    walk(node);
  };

  /** `var` names a statement declares at its own level (nested functions excluded). @param {any} node @param {Set<string>} names */
  const varsOf = (node, names) => {
    /** @param {any} n */
    const walk = (n) => {
      if (!n || typeof n.type !== 'string' || FN.has(n.type)) return;
      if (n.type === 'VariableDeclaration' && n.kind === 'var') for (const d of n.declarations) if (d.id.type === 'Identifier') names.add(d.id.name);
      for (const k of Object.keys(n)) {
        if (k === 'loc') continue;
        const c = n[k];
        if (Array.isArray(c)) c.forEach(walk);
        else if (c && typeof c.type === 'string') walk(c);
      }
    };
    walk(node);
  };

  /** Hoisting reliance in one statement list. @param {any[]} list */
  const hoisting = (list) => {
    /** @type {Set<string>} */
    const seen = new Set();
    /** @type {Set<string>} */
    const declared = new Set();
    for (const st of list) {
      /** @type {any[]} */
      const decls = [];
      if (st.type === 'FunctionDeclaration' && st.id) decls.push(st.id);
      if (st.type === 'VariableDeclaration' && st.kind === 'var') for (const d of st.declarations) if (d.id.type === 'Identifier') decls.push(d.id);
      for (const id of decls) {
        if (seen.has(id.name) && !declared.has(id.name)) add(id, (st.type === 'FunctionDeclaration' ? 'function ' : 'var ') + id.name + ' is used before its declaration (Espruino does not hoist)');
      }
      if (st.type === 'FunctionDeclaration') declared.add(st.id.name);
      else {
        refsOf(st, seen);
        varsOf(st, declared);
      }
    }
  };

  /** @param {any} n @param {boolean} inCase */
  const visit = (n, inCase) => {
    if (!n || typeof n.type !== 'string') return;
    switch (n.type) {
      case 'ObjectPattern': case 'ArrayPattern': add(n, 'destructuring'); break;
      case 'SpreadElement': add(n, 'spread'); break;
      case 'RestElement': add(n, 'rest parameter'); break;
      case 'AssignmentPattern': add(n, 'default parameter value'); break;
      case 'ChainExpression': add(n, 'optional chaining (?.)'); break;
      case 'TaggedTemplateExpression': add(n, 'tagged template'); break;
      case 'LabeledStatement': add(n, 'label'); break;
      case 'AwaitExpression': add(n, 'await'); break;
      case 'YieldExpression': add(n, 'yield'); break;
      case 'PropertyDefinition': add(n, 'class field'); break;
      case 'StaticBlock': add(n, 'class static block'); break;
      case 'PrivateIdentifier': add(n, 'private class member'); break;
      case 'ImportExpression': add(n, 'dynamic import'); break;
      case 'MetaProperty': add(n, n.meta.name + '.' + n.property.name); break;
      case 'BinaryExpression': if (n.operator === '**') add(n, 'exponent operator (**)'); break;
      case 'AssignmentExpression':
        if (n.operator === '**=') add(n, 'exponent operator (**=)');
        if (n.operator === '&&=' || n.operator === '||=' || n.operator === '??=') add(n, 'logical assignment (' + n.operator + ')', false);
        break;
      case 'Property': case 'MethodDefinition': if (n.computed) add(n, 'computed property key'); break;
      case 'Literal':
        if (typeof n.bigint === 'string') add(n, 'BigInt literal');
        if (n.regex && /\(\?<[=!]/.test(n.regex.pattern)) add(n, 'regular expression lookbehind');
        else if (n.regex && /\(\?<[A-Za-z]/.test(n.regex.pattern)) add(n, 'regular expression named group', false);
        // 2v29 parses `{n}` and `{n,m}` but never matches them (measured: /^a{2}$/.test("aa") is false).
        else if (n.regex && /(^|[^\\])\{\d+(,\d*)?\}/.test(n.regex.pattern)) add(n, 'regular expression counted quantifier {n} (never matches on 2v29)');
        break;
      case 'ArrayExpression': if (inCase && n.elements.some((/** @type {any} */ e) => e === null)) add(n, 'array literal with a hole inside a switch case (2v29 parser bug: use void 0)'); break;
      case 'Program': hoisting(n.body); break;
      case 'BlockStatement': hoisting(n.body); break;
      default: break;
    }
    if (FN.has(n.type)) {
      if (n.async) add(n, 'async function');
      if (n.generator) add(n, 'generator function');
    }
    const caseNow = inCase || n.type === 'SwitchCase';
    for (const k of Object.keys(n)) {
      if (k === 'loc' || k === 'start' || k === 'end') continue;
      const c = n[k];
      if (Array.isArray(c)) { for (const x of c) visit(x, caseNow); } else if (c && typeof c.type === 'string') visit(c, caseNow);
    }
  };
  visit(ast, false);
  out.sort((a, b) => a.line - b.line || a.column - b.column);
  if (cache.size > 64) cache.clear();
  cache.set(code, out);
  return out;
}

module.exports = { check };
