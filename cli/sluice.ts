import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  write: (line) => console.log(line),
  error: (line) => console.error(line),
  env: process.env,
});
