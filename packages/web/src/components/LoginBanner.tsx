/** The platform's login banner (its settings), shown before anyone signs in or creates an account; nothing when unset. */
export function LoginBanner({ text }: { text: string | undefined }) {
  const banner = text?.trim();
  if (!banner) return null;
  return (
    <section className="login-banner" aria-label="Notice">
      {banner}
    </section>
  );
}
