/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written here rather than pulled
 * from a client library: the API needs counters, gauges and histograms with labels, and the hot path
 * needs them to cost an array index, which bound children (`counter.with(...)`) give.
 */

export type Labels = Readonly<Record<string, string>>;

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? '' : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

const formatValue = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

interface Metric {
  render(): string;
}

abstract class Family<Child> implements Metric {
  protected readonly children = new Map<string, { labels: Labels; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}

  protected abstract create(): Child;
  protected abstract lines(labels: Labels, child: Child): string[];

  /** The series for these labels, created on first use; keep it to update without a lookup. */
  with(labels: Labels = {}): Child {
    const key = labelText(labels);
    let entry = this.children.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  render(): string {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, child } of this.children.values()) out.push(...this.lines(labels, child));
    return out.join('\n');
  }
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter incremented by the code that counts, or read at scrape time through `collect` (a total kept elsewhere, such as the process's CPU time). */
export class Counter extends Family<CounterChild> {
  private collector: (() => number) | undefined;

  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  protected create() {
    return new CounterChild();
  }
  protected lines(labels: Labels, child: CounterChild) {
    return [`${this.name}${labelText(labels)} ${formatValue(child.value)}`];
  }

  collect(read: () => number): this {
    this.collector = read;
    return this;
  }

  override render(): string {
    if (this.collector) this.with().value = this.collector();
    return super.render();
  }
}

export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
}

/** A gauge set by the code that knows the value, or read at scrape time through `collect`. */
export class Gauge extends Family<GaugeChild> {
  private collector: (() => { labels: Labels; value: number }[]) | undefined;

  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  protected create() {
    return new GaugeChild();
  }
  protected lines(labels: Labels, child: GaugeChild) {
    return [`${this.name}${labelText(labels)} ${formatValue(child.value)}`];
  }

  collect(read: () => { labels: Labels; value: number }[]): this {
    this.collector = read;
    return this;
  }

  override render(): string {
    if (this.collector) {
      this.children.clear();
      for (const { labels, value } of this.collector()) this.with(labels).set(value);
    }
    return super.render();
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

export class Histogram extends Family<HistogramChild> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
  ) {
    super(name, help, 'histogram');
  }
  protected create() {
    return new HistogramChild(this.bounds);
  }
  protected lines(labels: Labels, child: HistogramChild) {
    const out: string[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += child.counts[i] as number;
      out.push(`${this.name}_bucket${labelText(labels, ['le', formatValue(bound)])} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${child.count}`);
    out.push(`${this.name}_sum${labelText(labels)} ${formatValue(child.sum)}`);
    out.push(`${this.name}_count${labelText(labels)} ${child.count}`);
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, bounds));
  }

  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}
