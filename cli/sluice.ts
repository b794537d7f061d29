import { runCli } from './main.ts';

// `sluice ... | head` closes the pipe early; that is the reader being done, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  write: (line) => console.log(line),
  error: (line) => console.error(line),
  env: process.env,
});
