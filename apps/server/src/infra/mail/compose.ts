import addressparser from 'nodemailer/lib/addressparser';
import { AppError } from '../../shared/app-error.ts';
import type { MailMessage } from './mail.ts';

/** What both mailers hand to nodemailer; nodemailer types stay in the adapter files. */
export interface ComposedMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  headers: Record<string, string>;
}

// Headers the port already has fields for, or that the transport owns: letting callers set them
// would make the returned Message-ID, the envelope and the MIME structure disagree with the mail.
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'sender',
  'reply-to',
]);
const HEADER_NAME = /^[!-9;-~]+$/; // printable ASCII without ':'
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;

/** Validates a message (addresses, no header injection) and fills in the default sender. */
export function composeMail(message: MailMessage, defaultFrom: string): ComposedMail {
  const from = message.from ?? defaultFrom;
  assertAddresses('from', from, { single: true });
  assertAddresses('to', message.to, { single: false });
  assertOneLine('subject', message.subject);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw invalid(`Header name "${name}" is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      throw invalid(`Header "${name}" is set by the mailer, not by callers`);
    assertOneLine(`header ${name}`, value);
    headers[name] = value;
  }
  return { from, to: message.to, subject: message.subject, text: message.text, html: message.html, headers };
}

function assertAddresses(field: string, value: string, { single }: { single: boolean }): void {
  assertOneLine(field, value);
  const parsed = addressparser(value, { flatten: true });
  if (parsed.length === 0 || (single && parsed.length > 1)) {
    throw invalid(`"${field}" must hold ${single ? 'one address' : 'at least one address'}: ${JSON.stringify(value)}`);
  }
  for (const { address } of parsed) {
    if (!ADDRESS.test(address ?? '')) throw invalid(`"${field}" has an invalid address: ${JSON.stringify(value)}`);
  }
}

function assertOneLine(field: string, value: string): void {
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw invalid(`"${field}" must be a single line`);
}

function invalid(message: string): AppError {
  return new AppError('VALIDATION_FAILED', message);
}
