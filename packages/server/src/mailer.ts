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
