/** Where a platform admin outside the team would find the editor link: the editors are for the team's people (the server says the same). */
export function EditorForMembersNote() {
  return <span className="muted small">The editor opens for the team's people: join the team to open it.</span>;
}
