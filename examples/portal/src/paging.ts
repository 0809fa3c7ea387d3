import { useSearchParams } from "react-router-dom";

export const PAGE_SIZE = 10;

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor?: string | null;
  endCursor?: string | null;
}

/** Relay cursor paging kept in the URL (?after= or ?before=), so a page can be bookmarked and
 * the browser's back button works. Forward pages ask for `first`, backward pages for `last`. */
export function useCursorPaging(pageSize = PAGE_SIZE) {
  const [params, setParams] = useSearchParams();
  const after = params.get("after");
  const before = params.get("before");
  const variables = before ? { last: pageSize, before } : { first: pageSize, after };

  function go(key: "after" | "before", cursor: string | null | undefined) {
    if (!cursor) return;
    const next = new URLSearchParams(params);
    next.delete("after");
    next.delete("before");
    next.set(key, cursor);
    setParams(next);
  }

  return {
    variables,
    /** The filter params, without the cursors. */
    params,
    setFilter(name: string, value: string) {
      const next = new URLSearchParams(params);
      next.delete("after");
      next.delete("before");
      if (value) next.set(name, value);
      else next.delete(name);
      setParams(next);
    },
    controls(pageInfo: PageInfo | undefined) {
      return {
        // Walking backwards there is always the page we came from; walking forwards, the
        // cursor we started from says there is a page before.
        hasPrevious: !!pageInfo && (pageInfo.hasPreviousPage || (!before && !!after)),
        hasNext: !!pageInfo && (pageInfo.hasNextPage || !!before),
        onPrevious: () => go("before", pageInfo?.startCursor),
        onNext: () => go("after", pageInfo?.endCursor),
      };
    },
  };
}

/** `YYYY-MM-DD` (a day, UTC) to the DateTime range the API filters by: [from, to + 1 day). */
export function dayRange(from: string | null, to: string | null) {
  if (!from && !to) return null;
  const end = to ? new Date(`${to}T00:00:00Z`) : null;
  if (end) end.setUTCDate(end.getUTCDate() + 1);
  return {
    from: from ? `${from}T00:00:00+00:00` : null,
    to: end ? end.toISOString().replace(".000Z", "+00:00") : null,
  };
}
