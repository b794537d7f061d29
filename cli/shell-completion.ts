/**
 * `sluice completion bash|zsh`: a completion script generated from the command table itself, so a
 * new command or option completes without anyone editing a second list. The options of a command are
 * the `--flags` its help text names (the help is the one place a command's options are written down).
 * Model names, versions and workflow ids are not completed: they live in Temporal and the object store,
 * and a completion that opens a network connection on every Tab would stall a shell when either is down.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What can follow each position: the nouns, each noun's verbs, and each command's options. */
export interface CompletionTable {
  nouns: string[];
  verbs: Map<string, string[]>;
  options: Map<string, string[]>;
}

const GLOBAL_OPTIONS = ['--help', '--version'];

/** Builds the table from the CLI's commands (`deploy start` → help text). */
export function completionTable(commands: Record<string, { help: string }>): CompletionTable {
  const verbs = new Map<string, string[]>();
  const options = new Map<string, string[]>();
  for (const [key, { help }] of Object.entries(commands)) {
    const [noun, verb] = key.split(' ') as [string, string | undefined];
    const known = verbs.get(noun) ?? [];
    if (verb !== undefined && !known.includes(verb)) known.push(verb);
    verbs.set(noun, known);
    options.set(key, [...new Set([...(help.match(/--[a-z][a-z0-9-]*/g) ?? []), '--help'])].sort());
  }
  return { nouns: [...verbs.keys(), 'completion'].sort(), verbs, options };
}

/** A shell word list, quoted for a single-quoted bash string (no word the CLI defines contains a quote). */
const words = (list: readonly string[]) => `'${list.join(' ')}'`;

function bashFunction(table: CompletionTable): string {
  const verbCases = [...table.verbs]
    .filter(([, list]) => list.length > 0)
    .map(([noun, list]) => `      ${noun}) COMPREPLY=($(compgen -W ${words(list)} -- "$cur")); return ;;`);
  const entries = [...table.options];
  const optionCases = entries.filter(([key]) => key.includes(' ')).map(([key, list]) => `    '${key}') opts=${words(list)} ;;`);
  // `retrain <model>` and `score <model> <file>`: one-word commands whose second word is an argument.
  const nounOptionCases = entries.filter(([key]) => !key.includes(' ')).map(([key, list]) => `      ${key}) opts=${words(list)} ;;`);
  return `_sluice() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts=''
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W ${words([...table.nouns, ...GLOBAL_OPTIONS])} -- "$cur"))
    return
  fi
  if [[ \${COMP_WORDS[1]} == completion ]]; then
    ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W ${words(COMPLETION_SHELLS)} -- "$cur"))
    return
  fi
  if ((COMP_CWORD == 2)); then
    case \${COMP_WORDS[1]} in
${verbCases.join('\n')}
    esac
  fi
  case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${optionCases.join('\n')}
  esac
  if [[ -z $opts ]]; then
    case \${COMP_WORDS[1]} in
${nounOptionCases.join('\n')}
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    # Spec, plan and event files are the usual positional arguments past the command words.
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}`;
}

/** The script to source (bash) or to put on fpath / eval (zsh, through its bash completion layer). */
export function completionScript(shell: CompletionShell, table: CompletionTable): string {
  const body = bashFunction(table);
  if (shell === 'bash') {
    return `# sluice completion for bash. Load it with: source <(sluice completion bash)\n${body}\ncomplete -o filenames -F _sluice sluice\n`;
  }
  return `# sluice completion for zsh. Load it with: source <(sluice completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${body}\ncomplete -o filenames -F _sluice sluice\n`;
}
