import { type FormEvent, useState } from "react";
import { useMutation, useQuery } from "urql";
import { Badge, Empty, ErrorNotice, Time, Writable } from "../components.tsx";
import type { ApiKeyScope } from "../gql/graphql.ts";
import { graphql } from "../gql/index.ts";

const ApiKeysQuery = graphql(`
  query PortalApiKeys {
    apiKeys {
      id
      name
      prefix
      scopes
      createdAt
      lastUsedAt
      revokedAt
    }
  }
`);

const CreateApiKeyMutation = graphql(`
  mutation PortalCreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      key
      apiKey {
        id
      }
    }
  }
`);

const RevokeApiKeyMutation = graphql(`
  mutation PortalRevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);

const SCOPES: ApiKeyScope[] = ["ADMIN", "PUBLISH", "READ"];

export function ApiKeysPage() {
  const [result, refresh] = useQuery({ query: ApiKeysQuery, requestPolicy: "cache-and-network" });
  const [revoked, revoke] = useMutation(RevokeApiKeyMutation);
  const keys = result.data?.apiKeys ?? [];
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <Writable>
        <NewApiKey onCreated={() => refresh({ requestPolicy: "network-only" })} />
      </Writable>
      <ErrorNotice error={result.error ?? revoked.error} />
      {result.data && keys.length === 0 && <Empty title="No API keys" />}
      {keys.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{key.scopes.join(", ")}</td>
                  <td>
                    <Time at={key.lastUsedAt} />
                  </td>
                  <td>
                    {key.revokedAt ? (
                      <Badge tone="muted">revoked</Badge>
                    ) : (
                      <Writable>
                        <button type="button" className="danger" onClick={() => void revoke({ id: key.id })}>
                          Revoke<span className="sr-only"> {key.name}</span>
                        </button>
                      </Writable>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function NewApiKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [scope, setScope] = useState<ApiKeyScope>("READ");
  const [created, create] = useMutation(CreateApiKeyMutation);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create({ input: { name, scopes: [scope] } });
    if (!result.error) onCreated();
  };
  return (
    <form className="card filters" onSubmit={submit} aria-label="New API key">
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Scope
        <select value={scope} onChange={(e) => setScope(e.target.value as ApiKeyScope)}>
          {SCOPES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={created.fetching}>
        Create key
      </button>
      <ErrorNotice error={created.error} />
      {created.data && (
        <p className="notice ok" role="status">
          Copy the key now, it is not shown again:{" "}
          <code className="secret">{created.data.createApiKey.key}</code>
        </p>
      )}
    </form>
  );
}
