import { useState, type FormEvent } from "react";

import { Alert, Button, Input, PageSpinner, Pagination, Select } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatDay } from "@/lib/format";

import { useUsers } from "../api/get-users";
import type { AdminUser, Role } from "../api/schemas";
import { type AssignableRole, useSetUserRole } from "../api/set-user-role";
import { useSetUserActive } from "../api/set-user-active";

import { EmptyRow, SectionHeading, StatusPill, Table, Td, Th, Tr } from "./table";

const roleTone = { user: "grey", admin: "gold", superadmin: "gold" } as const;

type Viewer = { id: number; role: "admin" | "superadmin" };

/** What the viewer may do to `user` (the API decides; this only hides buttons that would be refused). */
function allowed(viewer: Viewer, user: AdminUser) {
  const self = viewer.id === user.id;
  const superadmin = viewer.role === "superadmin";
  return {
    suspend: !self && user.role !== "superadmin" && (user.role === "user" || superadmin),
    changeRole: superadmin && !self && user.role !== "superadmin",
  };
}

function UserRow({ user, viewer }: { user: AdminUser; viewer: Viewer }) {
  const setActive = useSetUserActive();
  const setRole = useSetUserRole();
  const may = allowed(viewer, user);
  const error = setActive.error ?? setRole.error;

  return (
    <Tr data-testid="user-row" data-email={user.email}>
      <Td>
        <span className="font-medium text-white">{user.name}</span>
        <span className="block text-xs text-slate-400">{user.email}</span>
      </Td>
      <Td>
        {may.changeRole ? (
          <Select label={`Role of ${user.email}`} hideLabel className="w-32"
                  value={setRole.isPending ? setRole.variables.role : user.role}
                  disabled={setRole.isPending}
                  onChange={(e) => setRole.mutate({ userId: user.id, role: e.target.value as AssignableRole })}>
            <option value="user">user</option>
            <option value="admin">admin</option>
          </Select>
        ) : (
          <StatusPill tone={roleTone[user.role]}>{user.role}</StatusPill>
        )}
      </Td>
      <Td>
        <StatusPill tone={user.is_active ? "green" : "red"} testId="user-status">
          {user.is_active ? "active" : "suspended"}
        </StatusPill>
      </Td>
      <Td className="text-xs text-slate-400">{user.created_at ? formatDay(user.created_at) : "—"}</Td>
      <Td className="text-right">
        {may.suspend && (
          <Button variant={user.is_active ? "ghost" : "secondary"} size="sm" loading={setActive.isPending}
                  aria-label={`${user.is_active ? "Suspend" : "Restore"} ${user.email}`}
                  onClick={() => setActive.mutate({ userId: user.id, active: !user.is_active })}>
            {user.is_active ? "Suspend" : "Restore"}
          </Button>
        )}
        {error && <p role="alert" className="mt-1 text-xs text-rose-400">{errorMessage(error)}</p>}
      </Td>
    </Tr>
  );
}

/** Accounts by email or name: suspend or restore them; superadmins also change roles. */
export function UsersList({ viewer }: { viewer: Viewer }) {
  const [draft, setDraft] = useState("");
  const [q, setQ] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [page, setPage] = useState(1);
  const users = useUsers({ page, q: q || undefined, role: role || undefined });

  const search = (e: FormEvent) => {
    e.preventDefault();
    setQ(draft.trim());
    setPage(1);
  };

  return (
    <section aria-labelledby="users-heading" className="space-y-4">
      <SectionHeading id="users-heading" title="Users"
                      description={viewer.role === "superadmin"
                        ? "Suspend or restore accounts and change roles. Suspension takes effect at once."
                        : "Suspend or restore customer accounts. Suspension takes effect at once."} />
      <div className="flex flex-wrap items-end gap-3">
        <form role="search" onSubmit={search} className="flex min-w-64 flex-1 gap-2">
          <Input label="Search users by email or name" hideLabel type="search" placeholder="Search by email or name…"
                 value={draft} maxLength={100} onChange={(e) => setDraft(e.target.value)} className="flex-1" />
          <Button type="submit">Search</Button>
        </form>
        <Select label="Role" hideLabel value={role} className="w-40"
                onChange={(e) => { setRole(e.target.value as Role | ""); setPage(1); }}>
          <option value="">All roles</option>
          <option value="user">Users</option>
          <option value="admin">Admins</option>
          <option value="superadmin">Superadmins</option>
        </Select>
      </div>
      {users.isPending ? <PageSpinner label="Loading users…" />
        : users.isError ? <Alert title="Could not load users">{errorMessage(users.error)}</Alert>
        : (
          <>
            <Table caption="Users" testId="users-table">
              <thead>
                <tr>
                  <Th>User</Th>
                  <Th>Role</Th>
                  <Th>Status</Th>
                  <Th>Joined</Th>
                  <Th className="text-right"><span className="sr-only">Actions</span></Th>
                </tr>
              </thead>
              <tbody aria-busy={users.isFetching || undefined}>
                {users.data.items.length === 0
                  ? <EmptyRow colSpan={5}>{q ? `No users match “${q}”.` : "No users."}</EmptyRow>
                  : users.data.items.map((u) => <UserRow key={u.id} user={u} viewer={viewer} />)}
              </tbody>
            </Table>
            <Pagination page={page} perPage={users.data.per_page} total={users.data.total} onPage={setPage}
                        label="User pages" />
          </>
        )}
    </section>
  );
}
