import { useQuery } from "urql";
import { Badge, ErrorNotice, JsonBlock } from "../components.tsx";
import { EventTypesQuery } from "./EndpointForm.tsx";

export function CatalogPage() {
  const [result] = useQuery({ query: EventTypesQuery });
  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Event types</h1>
      <p className="muted">What endpoints can subscribe to, each with an example of its data.</p>
      <ErrorNotice error={result.error} />
      {result.data?.eventTypes.map((type) => (
        <details key={type.name} className="card">
          <summary>
            <code>{type.name}</code> {type.operational && <Badge tone="muted">operational</Badge>} —{" "}
            {type.description}
          </summary>
          <JsonBlock value={type.example} label={`Example data of ${type.name}`} />
        </details>
      ))}
    </section>
  );
}
