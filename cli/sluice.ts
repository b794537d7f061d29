import { LiveLine } from './live-line.ts';
import { runCli } from './main.ts';

// `sluice ... | head` closes the pipe early; that is the reader being done, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const live = process.stdout.isTTY ? new LiveLine(process.stdout) : undefined;

process.exitCode = await runCli(process.argv.slice(2), {
  write: (line) => (live ? live.print(line) : console.log(line)),
  error: (line) => (live ? live.print(line, process.stderr) : console.error(line)),
  env: process.env,
  ...(live && { live: (line: string | undefined) => live.show(line) }),
});
