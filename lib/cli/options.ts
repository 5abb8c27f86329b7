// Parsers of the CLI's option values, with messages that name the option.
import { InvalidArgumentError } from 'commander';

export function positiveInteger(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${text}'`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got '${text}'`);
    return n;
  };
}

export function integerList(name: string) {
  return (text: string): number[] => text.split(',').map((part) => positiveInteger(name)(part.trim()));
}
