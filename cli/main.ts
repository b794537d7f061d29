import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { currentCodeVersion } from '../control/code-version.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import { type Env, EXIT, type Subcommand, exitCodeFor, openEnv, openStoreEnv } from './command.ts';
import { APPROVERS_COMMANDS } from './commands/approvers.ts';
import { DEPLOY_COMMANDS } from './commands/deploy.ts';
import { ERASE_COMMANDS } from './commands/erase.ts';
import { FEATURES_COMMANDS } from './commands/features.ts';
import { KEYS_COMMANDS } from './commands/keys.ts';
import { MODELS_COMMANDS } from './commands/models.ts';
import { MONITOR_COMMANDS } from './commands/monitor.ts';
import { PIPELINE_COMMANDS } from './commands/pipeline.ts';
import { RETRAIN_COMMANDS } from './commands/retrain.ts';
import { SCORE_COMMANDS } from './commands/score.ts';
import { WEBHOOKS_COMMANDS } from './commands/webhooks.ts';
import { COMPLETION_SHELLS, type CompletionShell, completionScript, completionTable } from './shell-completion.ts';

export { EXIT } from './command.ts';

const ROOT = resolve(import.meta.dirname, '..');
const PACKAGE_VERSION = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))).version;

const MAIN_HELP = `sluice: train, approve and inspect models.

Usage:
  sluice pipeline start <spec.json> [--requested-by NAME] [--no-follow] [--auto-approve]
  sluice pipeline status <workflow-id> [--json]
  sluice pipeline approve <workflow-id> --by NAME [--key-file FILE] [--comment TEXT]
  sluice pipeline reject <workflow-id> --by NAME [--key-file FILE] [--comment TEXT]
  sluice pipeline sign-decision <workflow-id> approve|reject --by NAME --key-file FILE [--comment TEXT]
  sluice pipeline list [--awaiting-approval] [--json]
  sluice models list [--json]
  sluice models show <name> [version] [--json]
  sluice deploy start <model> <version> --by NAME [--plan plan.json] [--reason TEXT]
  sluice deploy status <model> [--json]
  sluice deploy promote|pause|resume|rollback <model> --by NAME [--reason TEXT]
  sluice monitor schedule <model> --every 1h [--window 1h] [--retrain-spec spec.json] [--k 2 --n 3] [--cooldown 24h]
  sluice monitor status <model>
  sluice monitor compaction-schedule [--every 1h] [--closed-after 5m]
  sluice monitor retention-schedule <model> --predictions 30d --feedback 90d [--every 1h]
  sluice features schedule <model> [--every 15m] [--as-of data-end|now] [--pause | --resume]
  sluice features status <model>
  sluice features refresh <model> [--as-of data-end|now]
  sluice retrain <model> --reason TEXT [--spec spec.json]
  sluice score <model> <events.parquet | s3://bucket/key> [--version N] [--out PREFIX] [--feature-columns] [--json]
  sluice retrain schedule <model> --every 7d [--spec spec.json]
  sluice erase --model NAME (--request-id ID ... | --routing-key KEY ...) [--by NAME] [--reason TEXT] [--wait]
  sluice models timeline <model> [--html out.html]
  sluice keys create --id NAME --scopes predict,feedback [--file PATH] [--json]
  sluice keys list [--json] | sluice keys revoke --id NAME
  sluice approvers keygen --id NAME --out FILE | sluice approvers add --id NAME [--public-key FILE] [--roles LIST] [--delegate]
  sluice approvers list [--json] | sluice approvers remove --id NAME
  sluice webhooks add --id NAME --url URL [--events LIST] [--models LIST] [--format sluice|slack]
  sluice webhooks list [--json] | sluice webhooks remove --id NAME | sluice webhooks links [--temporal-ui URL] [--api URL]
  sluice completion bash|zsh     (e.g. source <(sluice completion bash))

Run 'sluice <command> --help' for details, 'sluice --version' for the version. Settings come from SLUICE_* variables (see the README).
Exit codes: 0 ok, 1 bad input, 2 bad config, 3 the run ended without an approved model, 4 the run failed,
5 Temporal or the object store unreachable (try again once it is up).`;

const COMMANDS: Record<string, Subcommand> = { ...PIPELINE_COMMANDS, ...MODELS_COMMANDS, ...DEPLOY_COMMANDS, ...MONITOR_COMMANDS, ...FEATURES_COMMANDS, ...RETRAIN_COMMANDS, ...KEYS_COMMANDS, ...WEBHOOKS_COMMANDS, ...SCORE_COMMANDS, ...APPROVERS_COMMANDS, ...ERASE_COMMANDS };

/** The command an argv names: two words (`deploy start`), or one (`retrain <model>`) where no two-word command matches. */
function commandKey(argv: string[]): string {
  const two = argv.slice(0, 2).join(' ');
  return COMMANDS[two] ? two : (argv[0] ?? '');
}

/** The help of every subcommand of `noun` (`deploy`), or undefined when no command starts with it. */
function nounHelp(noun: string): string | undefined {
  const helps = Object.entries(COMMANDS)
    .filter(([key]) => key === noun || key.startsWith(`${noun} `))
    .map(([, command]) => command.help);
  return helps.length ? helps.join('\n\n') : undefined;
}

/** Runs one CLI invocation and returns its exit code; every expected error becomes one plain line. */
export interface CliIo {
  write: (line: string) => void;
  error: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** On a terminal: redraws one progress line in place (undefined clears it). */
  live?: (line: string | undefined) => void;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const key = commandKey(argv);
  const rest = argv.slice(key.split(' ').length);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.write(MAIN_HELP);
    return argv.length === 0 ? EXIT.userError : EXIT.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.write(`sluice ${PACKAGE_VERSION} (code ${currentCodeVersion(ROOT)})`);
    return EXIT.ok;
  }
  if (argv[0] === 'completion') return printCompletion(argv[1], io);
  const command = COMMANDS[key];
  if (!command) {
    const noun = nounHelp(argv[0] ?? '');
    if (noun && (argv.includes('--help') || argv.includes('-h'))) {
      io.write(noun);
      return EXIT.ok;
    }
    io.error(noun ? `'sluice ${argv.join(' ')}' is not a command. The ${argv[0]} commands:\n\n${noun}` : `unknown command '${argv.join(' ')}'\n\n${MAIN_HELP}`);
    return EXIT.userError;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.write(command.help);
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    return exitCodeFor(err, io.error);
  }
  let env: Env | undefined;
  try {
    if (typeof command.run !== 'function') return await command.run.withoutTemporal(openStoreEnv(config, io.write), rest);
    env = { ...(await openEnv(config, io.write)), ...(io.live && { live: io.live }) };
    return await command.run(env, rest);
  } catch (err) {
    return exitCodeFor(err, io.error, config);
  } finally {
    await env?.connection.close();
  }
}

function printCompletion(shell: string | undefined, io: CliIo): number {
  if (shell === '--help' || shell === '-h') {
    io.write(`Usage: sluice completion ${COMPLETION_SHELLS.join('|')}\n\nPrints a completion script for the shell: commands, verbs, each command's options and file names.\n  bash: source <(sluice completion bash)   zsh: source <(sluice completion zsh)`);
    return EXIT.ok;
  }
  if (!COMPLETION_SHELLS.includes(shell as CompletionShell)) {
    io.error(`Usage: sluice completion ${COMPLETION_SHELLS.join('|')}   (got ${shell === undefined ? 'no shell' : `'${shell}'`})`);
    return EXIT.userError;
  }
  io.write(completionScript(shell as CompletionShell, completionTable(COMMANDS)).trimEnd());
  return EXIT.ok;
}
