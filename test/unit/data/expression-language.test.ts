import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Expr, ExpressionSyntaxError, columnsOf, parseExpression, substituteColumns } from '../../../shared/data/expression.ts';
import { ExpressionTypeError, typeOf } from '../../../shared/data/expression-types.ts';
import { formatTimestampUtc, parseTimestamp } from '../../../shared/data/timestamp.ts';
import { expressionToJs } from '../../../domain/features/expression/expression-js.ts';

const columns = { delay: 'number', distance: 'number', origin: 'string', date: 'timestamp', cancelled: 'boolean', 'dep time': 'number' } as const;

/** Evaluates text with the JavaScript backend over one row (timestamps as epoch ms). */
const evaluate = (text: string, row: Record<string, number | string | boolean | null>) =>
  expressionToJs<typeof row>(parseExpression(text), columns, (name) => (r) => r[name] ?? null)(row);

describe('expression parser', () => {
  test('precedence: OR < AND < NOT < comparison < +,- < *,/,% < unary minus', () => {
    assert.deepEqual(parseExpression('a OR b AND NOT c = 1 + 2 * -d'), {
      kind: 'logical',
      op: 'or',
      left: { kind: 'column', name: 'a' },
      right: {
        kind: 'logical',
        op: 'and',
        left: { kind: 'column', name: 'b' },
        right: {
          kind: 'not',
          arg: {
            kind: 'compare',
            op: '=',
            left: { kind: 'column', name: 'c' },
            right: {
              kind: 'arithmetic',
              op: '+',
              left: { kind: 'number', value: 1 },
              right: { kind: 'arithmetic', op: '*', left: { kind: 'number', value: 2 }, right: { kind: 'negate', arg: { kind: 'column', name: 'd' } } },
            },
          },
        },
      },
    } satisfies Expr);
  });

  test('left-associative arithmetic, keywords in any case, quoted names and strings', () => {
    assert.equal(evaluate('10 - 4 - 3', {}), 3);
    assert.equal(evaluate('2 * 3 % 4', {}), 2);
    assert.equal(evaluate(`case WHEN "dep time" > 5 then 'it''s late' ELSE NULL end`, { 'dep time': 6 }), "it's late");
    assert.deepEqual(parseExpression('1.5e3 + .5'), { kind: 'arithmetic', op: '+', left: { kind: 'number', value: 1500 }, right: { kind: 'number', value: 0.5 } });
    assert.deepEqual(parseExpression('a <> b'), parseExpression('a != b'));
    assert.deepEqual(parseExpression('a == b'), parseExpression('a = b'));
  });

  test('IS [NOT] NULL, [NOT] IN with constant lists, function calls', () => {
    assert.deepEqual(parseExpression('x IS NOT NULL'), { kind: 'isNull', arg: { kind: 'column', name: 'x' }, negated: true });
    assert.deepEqual(parseExpression("o NOT IN ('ATL', 'ORD')"), {
      kind: 'in',
      arg: { kind: 'column', name: 'o' },
      values: [
        { kind: 'string', value: 'ATL' },
        { kind: 'string', value: 'ORD' },
      ],
      negated: true,
    });
    assert.deepEqual(parseExpression('COALESCE(a, -1)'), { kind: 'call', fn: 'coalesce', args: [{ kind: 'column', name: 'a' }, { kind: 'number', value: -1 }] });
  });

  const syntaxErrors: [string, RegExp][] = [
    ['hour(date', /expected '\)', found end of expression at offset 9/],
    ['delay > ', /unexpected end of expression at offset 8/],
    ["origin = 'ATL", /unterminated string at offset 9/],
    ['a IN (b)', /expected a number, string or boolean constant in the IN list, found 'b'/],
    ['CASE END', /expected WHEN after CASE/],
    ['1 2', /unexpected number 2 at offset 2/],
    ['a ; b', /unexpected character ';' at offset 2/],
    ['3abc', /expected an operator after a number at offset 1/],
    ['1e999', /out of range/],
    ['and', /unexpected keyword AND/],
  ];
  for (const [text, message] of syntaxErrors) {
    test(`syntax error: ${text}`, () => {
      assert.throws(() => parseExpression(text), (err: unknown) => err instanceof ExpressionSyntaxError && message.test(err.message));
    });
  }

  test('columnsOf and substituteColumns', () => {
    const expr = parseExpression('delayed AND origin = destination OR delayed');
    assert.deepEqual(columnsOf(expr), ['delayed', 'origin', 'destination']);
    assert.deepEqual(columnsOf(substituteColumns(expr, new Map([['delayed', parseExpression('delay > 15')]]))), ['delay', 'origin', 'destination']);
  });
});

describe('expression types', () => {
  const typeErrors: [string, RegExp][] = [
    ['delay + origin', /the right side of \+ must be number, got string/],
    ["origin < 'B'", /the sides of < must be number or timestamp, got string/],
    ['hour(delay)', /argument 1 of hour\(\) must be a timestamp, got number/],
    ['nope(1)', /unknown function nope\(\)/],
    ['carrier', /unknown column "carrier"/],
    ["CASE WHEN cancelled THEN 1 ELSE 'x' END", /the branches of CASE mix number and string/],
    ['NOT delay', /the operand of NOT must be boolean/],
    ["delay IN ('a')", /the value and the IN list mix number and string/],
    ['least(1)', /least\(\) takes at least 2 argument/],
    ['add_minutes(date)', /add_minutes\(\) takes 2 argument/],
    ["concat(origin, 1)", /argument 2 of concat\(\) must be a string/],
  ];
  for (const [text, message] of typeErrors) {
    test(`type error: ${text}`, () => {
      assert.throws(() => typeOf(parseExpression(text), columns), (err: unknown) => err instanceof ExpressionTypeError && message.test(err.message));
    });
  }

  test('types of well-formed expressions; NULL fits anywhere', () => {
    assert.equal(typeOf(parseExpression('add_minutes(date, delay)'), columns), 'timestamp');
    assert.equal(typeOf(parseExpression('delay > 15 AND NULL'), columns), 'boolean');
    assert.equal(typeOf(parseExpression('coalesce(NULL, origin)'), columns), 'string');
    assert.equal(typeOf(parseExpression('CASE WHEN cancelled THEN NULL END'), columns), 'null');
  });
});

describe('semantics (JavaScript backend; the SQL backend is held to the same results in expression-backends.test.ts)', () => {
  test('three-valued logic', () => {
    assert.equal(evaluate('NULL AND FALSE', {}), false);
    assert.equal(evaluate('NULL AND TRUE', {}), null);
    assert.equal(evaluate('NULL OR TRUE', {}), true);
    assert.equal(evaluate('NOT NULL', {}), null);
    assert.equal(evaluate('delay > 15', { delay: null }), null);
    assert.equal(evaluate('CASE WHEN delay > 15 THEN 1 ELSE 0 END', { delay: null }), 0);
    assert.equal(evaluate('delay IN (1, 2)', { delay: null }), null);
  });

  test('division and modulo by zero are NULL; round is half away from zero', () => {
    assert.equal(evaluate('1 / 0', {}), null);
    assert.equal(evaluate('5 % 0', {}), null);
    assert.equal(evaluate('round(-2.5)', {}), -3);
    assert.equal(evaluate('round(2.5)', {}), 3);
    assert.equal(evaluate('-7.5 % 2', {}), -1.5);
  });

  test('calendar functions read the UTC wall clock; ISO day of week', () => {
    const sunday = Date.UTC(2001, 0, 7, 23, 30);
    assert.equal(evaluate('hour(date)', { date: sunday }), 23);
    assert.equal(evaluate('day_of_week(date)', { date: sunday }), 7);
    assert.equal(evaluate('day_of_week(add_minutes(date, 31))', { date: sunday }), 1);
    assert.equal(evaluate('month(date) * 100 + day_of_month(date)', { date: sunday }), 107);
    assert.equal(evaluate('add_minutes(date, -13)', { date: sunday }), sunday - 13 * 60_000);
  });

  test('least/greatest skip NULLs; concat skips NULLs; coalesce takes the first non-NULL', () => {
    assert.equal(evaluate('least(NULL, 3, 2)', {}), 2);
    assert.equal(evaluate('greatest(delay, NULL)', { delay: null }), null);
    assert.equal(evaluate("concat(origin, '-', NULL, 'x')", { origin: 'ATL' }), 'ATL-x');
    assert.equal(evaluate("coalesce(NULL, origin, 'none')", { origin: null }), 'none');
  });
});

describe('timestamps', () => {
  test('naive means UTC; offsets and fractions are honoured; impossible dates are rejected', () => {
    assert.equal(parseTimestamp('2001-01-01T00:01:00'), Date.UTC(2001, 0, 1, 0, 1));
    assert.equal(parseTimestamp('2001-01-01 00:01'), Date.UTC(2001, 0, 1, 0, 1));
    assert.equal(parseTimestamp('2001-01-01'), Date.UTC(2001, 0, 1));
    assert.equal(parseTimestamp('2001-01-01T02:00:00+02:00'), Date.UTC(2001, 0, 1));
    assert.equal(parseTimestamp('2001-01-01T00:00:00.123456Z'), Date.UTC(2001, 0, 1) + 123);
    assert.equal(parseTimestamp('0050-06-01'), new Date('0050-06-01T00:00:00Z').getTime());
    assert.equal(parseTimestamp('2001-02-30'), undefined);
    assert.equal(parseTimestamp('yesterday'), undefined);
    assert.equal(formatTimestampUtc(Date.UTC(2001, 4, 1)), '2001-05-01 00:00:00.000');
  });
});
