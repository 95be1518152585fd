import nodemailer from 'nodemailer';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** True when mail really leaves the platform; otherwise links are shown to the sender. */
  readonly delivers: boolean;
  send(mail: Mail): Promise<void>;
}

/**
 * Mails a one-time link, once the change it belongs to has committed: the mail server is a
 * network call and never holds a transaction open. Returns whether it left the platform;
 * when not (no mail server, or it failed) the caller shows the link, once, to whoever asked.
 */
export async function mailLink(mailer: Mailer, mail: Mail, link: string, log: { warn(obj: object, msg: string): void }): Promise<boolean> {
  if (!mailer.delivers) {
    await mailer.send({ ...mail, text: link });
    return false;
  }
  try {
    await mailer.send(mail);
    return true;
  } catch (error) {
    log.warn({ err: error, to: mail.to, subject: mail.subject }, 'mail could not be sent; the link is shown to whoever asked for it');
    return false;
  }
}

/** SMTP when FLOWGATE_SMTP_URL is set; otherwise the mail is written to the log. */
export function createMailer(smtpUrl: string | null, from: string, log: { info(obj: object, msg: string): void }): Mailer {
  if (!smtpUrl) {
    return {
      delivers: false,
      async send(mail) {
        log.info({ to: mail.to, subject: mail.subject, body: mail.text }, 'no mail server configured: mail not sent');
      },
    };
  }
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    delivers: true,
    async send(mail) {
      await transport.sendMail({ from, ...mail });
    },
  };
}
