// `infonce pairs text|corpus|suite|code`: training pairs from the user's documents, the suite, or source code.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { InvalidArgumentError, Option, type Command } from 'commander';

import { suiteTrainingPairs } from '../eval/suite.js';
import { codePairs, functionsOf } from '../pairs/code.js';
import { corpusPairs } from '../pairs/corpus.js';
import { documentText, readCorpusDocuments } from '../pairs/corpus-files.js';
import { NotRegularFile, readTextFile } from '../io/read-file.js';
import { textPairs } from '../pairs/text.js';
import { OPTIONAL_PACKAGES, requirePackages } from '../util/optional-packages.js';
import { say, writePairs } from './io.js';
import { positiveInteger } from './options.js';

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.((m|c)?[jt]sx?|py)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

// The options of the commands that cut documents into passages.
const outOption = () => new Option('--out <file>', 'write the pairs here (default: stdout)');
const minWordsOption = () => new Option('--min-words <n>', 'smallest passage').argParser(positiveInteger('--min-words')).default(30);
const maxWordsOption = () => new Option('--max-words <n>', 'passages are cut at a sentence end beyond this').argParser(positiveInteger('--max-words')).default(120);

export function addPairsCommands(program: Command): void {
  const pairs = program.command('pairs').description('build training pairs (JSON Lines: {"query", "positive"})');
  pairs
    .command('text')
    .description('neighbouring-passage pairs from text files (each file a document)')
    .argument('<files...>', 'text files (.md: Markdown, read as its prose: no badges, URLs or HTML)')
    .addHelpText('after', '\nExample:\n  infonce pairs text notes/*.txt --out pairs.jsonl')
    .addOption(outOption())
    .addOption(minWordsOption())
    .addOption(maxWordsOption())
    .action((files: string[], o) => {
      const documents = files.map(documentText);
      const made = textPairs(documents, { minWords: o.minWords, maxWords: o.maxWords });
      if (made.length === 0)
        throw new InvalidArgumentError(
          `${files.join(', ')}: no pairs (a pair needs two passages of --min-words ${o.minWords} words; words are counted between spaces, or by Intl.Segmenter in scripts written without them)`,
        );
      writePairs(made, o.out);
    });
  pairs
    .command('corpus')
    .description('pairs from your unlabelled documents: title → body, a span → the rest of its document, neighbouring passages (each pair grouped by its document)')
    .argument('<path>', 'a text file, a folder of .txt/.md/.rst files (Markdown read as its prose: no badges, URLs or HTML), or a JSON Lines corpus ("text", optional "title", "_id": a BEIR corpus.jsonl)')
    .addOption(outOption())
    .addOption(minWordsOption())
    .addOption(maxWordsOption())
    .option('--seed <n>', 'where the spans are taken', positiveInteger('--seed'), 1)
    .addHelpText('after', '\nExamples:\n  infonce pairs corpus docs/ --out pairs.jsonl\n  infonce pairs corpus scifact/corpus.jsonl --out pairs.jsonl')
    .action(async (path: string, o) => {
      const documents = await readCorpusDocuments(path, (file, kind) => say(`skipped ${file}: ${kind}, not a regular file`));
      const { pairs: made, counts } = corpusPairs(documents, { minWords: o.minWords, maxWords: o.maxWords, seed: o.seed });
      say(`${documents.length} documents: ${counts.title} title → body, ${counts.span} span → rest, ${counts.neighbours} neighbouring-passage pairs`);
      if (made.length === 0) throw new InvalidArgumentError(`${path}: no pairs (documents too short: a pair needs a title, three sentences, or two passages of --min-words)`);
      writePairs(made, o.out);
    });
  pairs
    .command('suite')
    .description("training pairs from the training splits of `infonce eval --suite default` (never its test documents)")
    .option('--out <file>', 'write the pairs here (default: stdout)')
    .addHelpText('after', '\nExample:\n  infonce pairs suite --out train.jsonl && infonce train --pairs train.jsonl --out run --steps 200')
    .action((o) => {
      requirePackages('infonce pairs suite', OPTIONAL_PACKAGES.suite);
      writePairs(suiteTrainingPairs(), o.out);
    });
  pairs
    .command('code')
    .description('docstring → code pairs from the JavaScript/TypeScript (JSDoc) and Python files under a folder')
    .argument('<dir>', 'a source folder')
    .option('--out <file>', 'write the pairs here (default: stdout)')
    .addHelpText('after', '\nExample:\n  infonce pairs code src/ --out code.jsonl')
    .action((dir: string, o) => {
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`${dir} is not a folder`);
      const functions = [...sourceFiles(dir)].flatMap((file) => {
        try {
          return functionsOf(file, readTextFile(file));
        } catch (error) {
          if (!(error instanceof NotRegularFile)) throw error;
          say(`skipped ${file}: ${error.kind}, not a regular file`);
          return [];
        }
      });
      say(`${functions.length} documented functions under ${relative(process.cwd(), dir) || '.'}`);
      writePairs(codePairs(functions), o.out);
    });
}
