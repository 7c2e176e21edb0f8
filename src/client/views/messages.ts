/** What each failure and ending means, in words a person reads; the screens and the scripted commands share them. */
export { describeCallEnd, describeCallFailure, describeMissedCall, formatDuration } from '../call-reasons';

export function describeNameRefusal(code: string, name: string, message: string): string {
  switch (code) {
    case 'name_taken':
      return `The name "${name}" is taken. Choose another.`;
    case 'bad_name':
      return `"${name}" is not a valid name: use 1-32 letters, digits, dots, dashes or underscores.`;
    default:
      return `The server refused "${name}": ${message}`;
  }
}
