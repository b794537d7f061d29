import { SluiceError } from '../errors.ts';

/**
 * The feature expression language: a small SQL-like syntax that feature specs and dataset contracts
 * are written in. It is parsed here, once, into an AST that two backends compile (DuckDB SQL for
 * offline tables, a JavaScript function for request-time features), so a feature's logic is written
 * once and cannot drift between training and serving.
 *
 * Grammar, loosest binding first:
 *   expr    := or
 *   or      := and ('OR' and)*
 *   and     := not ('AND' not)*
 *   not     := 'NOT' not | test
 *   test    := sum (cmpOp sum | 'IS' ['NOT'] 'NULL' | ['NOT'] 'IN' '(' literal (',' literal)* ')')?
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/' | '%') unary)*
 *   unary   := '-' unary | primary
 *   primary := number | 'string' | TRUE | FALSE | NULL | column | "quoted column"
 *            | name '(' [expr (',' expr)*] ')' | '(' expr ')'
 *            | CASE (WHEN expr THEN expr)+ [ELSE expr] END
 * Keywords and function names are case-insensitive; column names are case-sensitive.
 */

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicalOp = 'and' | 'or';
export type Literal = { kind: 'number'; value: number } | { kind: 'string'; value: string } | { kind: 'boolean'; value: boolean };

export type Expr =
  | Literal
  | { kind: 'null' }
  | { kind: 'column'; name: string }
  | { kind: 'negate'; arg: Expr }
  | { kind: 'not'; arg: Expr }
  | { kind: 'arithmetic'; op: ArithmeticOp; left: Expr; right: Expr }
  | { kind: 'compare'; op: ComparisonOp; left: Expr; right: Expr }
  | { kind: 'logical'; op: LogicalOp; left: Expr; right: Expr }
  | { kind: 'isNull'; arg: Expr; negated: boolean }
  | { kind: 'in'; arg: Expr; values: Literal[]; negated: boolean }
  | { kind: 'case'; branches: { when: Expr; then: Expr }[]; otherwise: Expr | undefined }
  | { kind: 'call'; fn: string; args: Expr[] };

/** A syntax error, with the offset into the source so the message can point at it. */
export class ExpressionSyntaxError extends SluiceError {
  override readonly name = 'ExpressionSyntaxError';
  readonly kind = 'InvalidInput';
  constructor(
    readonly source: string,
    readonly offset: number,
    problem: string,
  ) {
    super(`${problem} at offset ${offset} in "${source}"`);
  }
}

type Token =
  | { type: 'number'; value: number; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'word'; value: string; at: number }
  | { type: 'quoted'; value: string; at: number }
  | { type: 'op'; value: string; at: number }
  | { type: 'end'; at: number };

const OPERATORS = ['<=', '>=', '!=', '<>', '==', '+', '-', '*', '/', '%', '=', '<', '>', '(', ')', ','];
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = source.slice(i);
    const number = NUMBER.exec(rest);
    if (number) {
      const value = Number(number[0]);
      if (!Number.isFinite(value)) throw new ExpressionSyntaxError(source, i, `number ${number[0]} is out of range`);
      tokens.push({ type: 'number', value, at: i });
      i += number[0].length;
      if (WORD.test(source.slice(i))) throw new ExpressionSyntaxError(source, i, 'expected an operator after a number');
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      tokens.push({ type: 'word', value: word[0], at: i });
      i += word[0].length;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const { text, end } = readQuoted(source, i, ch);
      tokens.push(ch === "'" ? { type: 'string', value: text, at: i } : { type: 'quoted', value: text, at: i });
      i = end;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new ExpressionSyntaxError(source, i, `unexpected character '${ch}'`);
    tokens.push({ type: 'op', value: op === '==' ? '=' : op === '<>' ? '!=' : op, at: i });
    i += op.length;
  }
  tokens.push({ type: 'end', at: source.length });
  return tokens;
}

/** SQL quoting: the quote character is escaped by doubling it. */
function readQuoted(source: string, start: number, quote: string): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  for (;;) {
    const at = source.indexOf(quote, i);
    if (at < 0) throw new ExpressionSyntaxError(source, start, `unterminated ${quote === "'" ? 'string' : 'quoted name'}`);
    text += source.slice(i, at);
    if (source[at + 1] === quote) {
      text += quote;
      i = at + 2;
      continue;
    }
    if (quote === '"' && text === '') throw new ExpressionSyntaxError(source, start, 'empty quoted name');
    return { text, end: at + 1 };
  }
}

const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'in', 'true', 'false', 'case', 'when', 'then', 'else', 'end']);
const COMPARISONS = new Set<string>(['=', '!=', '<', '<=', '>', '>=']);

class Parser {
  private pos = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Expr {
    const expr = this.or();
    const next = this.peek();
    if (next.type !== 'end') this.fail(next, `unexpected ${describe(next)}`);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.pos++;
    return token;
  }

  private fail(token: Token, problem: string): never {
    throw new ExpressionSyntaxError(this.source, token.at, problem);
  }

  private isKeyword(word: string, token: Token = this.peek()): boolean {
    return token.type === 'word' && token.value.toLowerCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.pos++;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(this.peek(), `expected ${word.toUpperCase()}, found ${describe(this.peek())}`);
  }

  private isOp(op: string): boolean {
    const token = this.peek();
    return token.type === 'op' && token.value === op;
  }

  /** Consumes the operator token the caller has just checked for. */
  private takeOp(): string {
    const token = this.advance();
    return token.type === 'op' ? token.value : this.fail(token, `expected an operator, found ${describe(token)}`);
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) this.fail(this.peek(), `expected '${op}', found ${describe(this.peek())}`);
    this.pos++;
  }

  private or(): Expr {
    let left = this.and();
    while (this.acceptKeyword('or')) left = { kind: 'logical', op: 'or', left, right: this.and() };
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.acceptKeyword('and')) left = { kind: 'logical', op: 'and', left, right: this.not() };
    return left;
  }

  private not(): Expr {
    if (this.acceptKeyword('not')) return { kind: 'not', arg: this.not() };
    return this.test();
  }

  private test(): Expr {
    const left = this.sum();
    const token = this.peek();
    if (token.type === 'op' && COMPARISONS.has(token.value)) {
      this.pos++;
      return { kind: 'compare', op: token.value as ComparisonOp, left, right: this.sum() };
    }
    if (this.acceptKeyword('is')) {
      const negated = this.acceptKeyword('not');
      this.expectKeyword('null');
      return { kind: 'isNull', arg: left, negated };
    }
    const negated = this.isKeyword('not') && this.isKeyword('in', this.tokens[this.pos + 1]);
    if (negated) this.pos++;
    if (this.acceptKeyword('in')) {
      this.expectOp('(');
      const values = [this.literal()];
      while (this.isOp(',')) {
        this.pos++;
        values.push(this.literal());
      }
      this.expectOp(')');
      return { kind: 'in', arg: left, values, negated };
    }
    return left;
  }

  /** IN lists hold constants only, so both backends can test membership without evaluating anything. */
  private literal(): Literal {
    const negative = this.isOp('-');
    if (negative) this.pos++;
    const token = this.advance();
    if (token.type === 'number') return { kind: 'number', value: negative ? -token.value : token.value };
    if (!negative && token.type === 'string') return { kind: 'string', value: token.value };
    if (!negative && (this.isKeyword('true', token) || this.isKeyword('false', token))) {
      return { kind: 'boolean', value: this.isKeyword('true', token) };
    }
    return this.fail(token, `expected a number, string or boolean constant in the IN list, found ${describe(token)}`);
  }

  private sum(): Expr {
    let left = this.product();
    while (this.isOp('+') || this.isOp('-')) {
      left = { kind: 'arithmetic', op: this.takeOp() as ArithmeticOp, left, right: this.product() };
    }
    return left;
  }

  private product(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      left = { kind: 'arithmetic', op: this.takeOp() as ArithmeticOp, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.isOp('-')) {
      this.pos++;
      const arg = this.unary();
      // Fold "-3" into a constant so literals print back the way they were written.
      return arg.kind === 'number' ? { kind: 'number', value: -arg.value } : { kind: 'negate', arg };
    }
    return this.primary();
  }

  private primary(): Expr {
    const token = this.advance();
    switch (token.type) {
      case 'number':
        return { kind: 'number', value: token.value };
      case 'string':
        return { kind: 'string', value: token.value };
      case 'quoted':
        return { kind: 'column', name: token.value };
      case 'op':
        if (token.value !== '(') return this.fail(token, `unexpected ${describe(token)}`);
        return this.parenthesized();
      case 'end':
        return this.fail(token, 'unexpected end of expression');
      case 'word':
        return this.word(token);
    }
  }

  private parenthesized(): Expr {
    const inner = this.or();
    this.expectOp(')');
    return inner;
  }

  private word(token: Token & { type: 'word' }): Expr {
    const lower = token.value.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'boolean', value: lower === 'true' };
    if (lower === 'null') return { kind: 'null' };
    if (lower === 'case') return this.caseExpr();
    if (this.isOp('(')) {
      this.pos++;
      const args: Expr[] = [];
      if (!this.isOp(')')) {
        args.push(this.or());
        while (this.isOp(',')) {
          this.pos++;
          args.push(this.or());
        }
      }
      this.expectOp(')');
      return { kind: 'call', fn: lower, args };
    }
    if (KEYWORDS.has(lower)) return this.fail(token, `unexpected keyword ${token.value.toUpperCase()}`);
    return { kind: 'column', name: token.value };
  }

  private caseExpr(): Expr {
    const branches: { when: Expr; then: Expr }[] = [];
    while (this.acceptKeyword('when')) {
      const when = this.or();
      this.expectKeyword('then');
      branches.push({ when, then: this.or() });
    }
    if (branches.length === 0) this.fail(this.peek(), `expected WHEN after CASE, found ${describe(this.peek())}`);
    const otherwise = this.acceptKeyword('else') ? this.or() : undefined;
    this.expectKeyword('end');
    return { kind: 'case', branches, otherwise };
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'end of expression';
    case 'number':
      return `number ${token.value}`;
    case 'string':
      return `string '${token.value}'`;
    case 'quoted':
      return `"${token.value}"`;
    case 'word':
      return `'${token.value}'`;
    case 'op':
      return `'${token.value}'`;
  }
}

export function parseExpression(source: string): Expr {
  return new Parser(source, tokenize(source)).parse();
}

/** Every column an expression reads, in first-use order. */
export function columnsOf(expr: Expr): string[] {
  const found = new Set<string>();
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'column':
        found.add(e.name);
        return;
      case 'negate':
      case 'not':
      case 'isNull':
      case 'in':
        visit(e.arg);
        return;
      case 'arithmetic':
      case 'compare':
      case 'logical':
        visit(e.left);
        visit(e.right);
        return;
      case 'case':
        for (const b of e.branches) {
          visit(b.when);
          visit(b.then);
        }
        if (e.otherwise) visit(e.otherwise);
        return;
      case 'call':
        e.args.forEach(visit);
        return;
      case 'number':
      case 'string':
      case 'boolean':
      case 'null':
        return;
    }
  };
  visit(expr);
  return [...found];
}

/** Replaces column references by expressions, e.g. a label's name by the label's own expression. */
export function substituteColumns(expr: Expr, replacements: ReadonlyMap<string, Expr>): Expr {
  const sub = (e: Expr): Expr => {
    switch (e.kind) {
      case 'column':
        return replacements.get(e.name) ?? e;
      case 'negate':
      case 'not':
        return { ...e, arg: sub(e.arg) };
      case 'isNull':
      case 'in':
        return { ...e, arg: sub(e.arg) };
      case 'arithmetic':
      case 'compare':
      case 'logical':
        return { ...e, left: sub(e.left), right: sub(e.right) };
      case 'case':
        return {
          kind: 'case',
          branches: e.branches.map((b) => ({ when: sub(b.when), then: sub(b.then) })),
          otherwise: e.otherwise && sub(e.otherwise),
        };
      case 'call':
        return { ...e, args: e.args.map(sub) };
      case 'number':
      case 'string':
      case 'boolean':
      case 'null':
        return e;
    }
  };
  return sub(expr);
}
