/**
 * One line at the bottom of a terminal that is redrawn in place (a progress bar), with ordinary lines
 * printed above it: the live line is cleared before each ordinary line and shown again at its next
 * update. Only for a TTY; piped output gets plain lines instead (see `TrainingProgressView`).
 */
export class LiveLine {
  private shown = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  show(line: string | undefined): void {
    this.clear();
    if (line === undefined) return;
    // Wider than the terminal, it would wrap, and `\r` would then redraw only its last row.
    const width = Math.max(20, (this.out.columns || 100) - 1);
    this.out.write(line.length > width ? `${line.slice(0, width - 1)}…` : line);
    this.shown = true;
  }

  print(line: string, to: NodeJS.WriteStream = this.out): void {
    this.clear();
    to.write(`${line}\n`);
  }

  private clear(): void {
    if (!this.shown) return;
    this.out.write('\r\x1b[K');
    this.shown = false;
  }
}
