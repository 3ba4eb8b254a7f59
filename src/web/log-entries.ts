// Plain-language lines for the log entries a voter's history shows. Entries are read back from
// the log, which holds what this system wrote; they are still parsed defensively (the log
// directory could have been tampered with), and anything unexpected is shown as it is.
import { z } from 'zod';
import { AccessEventSchema } from '../access/index.ts';
import type { AccessEvent } from '../access/index.ts';

/** What a history line says about one entry. */
export interface EntryDescription {
  readonly summary: string;
  /** When, as the entry states it (UTC). */
  readonly time: string;
  /** Who, as far as the public log tells: a role and a random id, never a name. */
  readonly who: string;
}

const LookupEntrySchema = z.object({
  type: z.literal('lookup'),
  channel: z.string(),
  result: z.enum(['found', 'not-found']),
  time: z.string(),
});

const CHANNEL_WORDS: Readonly<Record<string, string>> = {
  public: 'the public website',
  cli: 'the office’s command line',
  officials: 'the officials’ website',
  api: 'the officials’ API',
};

const ROLE_WORDS: Readonly<Record<string, string>> = {
  'state-admin': 'A state administrator',
  'county-clerk': 'A county clerk',
  'county-staff': 'A member of county staff',
  auditor: 'An auditor',
  'api-client': 'A connected program',
};

const ACTION_WORDS: Readonly<Record<string, string>> = {
  search: 'found your record in a search',
  view: 'opened your record',
  create: 'created your record',
  update: 'changed your record',
  export: 'included your record in an export',
};

const PURPOSE_WORDS: Readonly<Record<string, string>> = {
  'voter-request': 'because you asked',
  'election-administration': 'for running the election',
  'public-records-request': 'for a public records request',
  'legal-process': 'for a court or legal process',
  audit: 'for an audit',
  'incident-response': 'to respond to a security incident',
};

/** Describes one log entry for the voter it names. */
export function describeEntry(entry: Uint8Array): EntryDescription {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(entry).toString('utf8'));
  } catch {
    return { summary: 'A log entry that is not JSON', time: '', who: '' };
  }
  const lookup = LookupEntrySchema.safeParse(json);
  if (lookup.success) {
    return {
      summary: `Your registration was looked up on ${CHANNEL_WORDS[lookup.data.channel] ?? lookup.data.channel}`,
      time: formatTime(lookup.data.time),
      who: 'Anyone who knows your name, date of birth and ZIP code or county can do this.',
    };
  }
  const access = AccessEventSchema.safeParse(json);
  if (access.success) return describeAccess(access.data);
  return { summary: 'A log entry naming your record', time: '', who: '' };
}

function describeAccess(event: AccessEvent): EntryDescription {
  const role = ROLE_WORDS[event.role] ?? event.role;
  const action = ACTION_WORDS[event.action] ?? `used “${event.action}” on your record`;
  const purpose = event.purpose === null ? '' : ` ${PURPOSE_WORDS[event.purpose] ?? event.purpose}`;
  const summary =
    event.outcome === 'denied'
      ? `${role} tried to ${event.action} your record and was refused (${event.reason ?? 'denied'})`
      : `${role} ${action}${purpose}${event.error === null ? '' : ' (it failed)'}`;
  return {
    summary,
    time: formatTime(event.time),
    who: `Official ${event.principal.slice(0, 8)}…, ${event.jurisdiction ?? 'statewide'}, through ${CHANNEL_WORDS[event.channel] ?? event.channel}. The office can tell you who this is.`,
  };
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' at ')} UTC`;
}
