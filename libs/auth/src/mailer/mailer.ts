/**
 * Outgoing e-mail (password resets, invitations) goes through this interface, so the transport is
 * a deployment choice. The recording mailer keeps messages in memory: dev and tests read them
 * back instead of running an SMTP server.
 */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** What the message is for, so tests and logs can find it without parsing the text. */
  kind: 'password_reset' | 'invitation' | 'password_changed' | 'new_sign_in';
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export interface RecordingMailer extends Mailer {
  readonly messages: readonly MailMessage[];
  /** The last message to `to` (optionally of a kind). */
  lastTo(to: string, kind?: MailMessage['kind']): MailMessage | undefined;
}

export function createRecordingMailer(limit = 1000): RecordingMailer {
  const messages: MailMessage[] = [];
  return {
    messages,
    async send(message) {
      messages.push(message);
      // Bounded: a dev server left running for weeks must not grow without end.
      if (messages.length > limit) messages.splice(0, messages.length - limit);
    },
    lastTo(to, kind) {
      return messages.findLast((m) => m.to.toLowerCase() === to.toLowerCase() && (!kind || m.kind === kind));
    },
  };
}
