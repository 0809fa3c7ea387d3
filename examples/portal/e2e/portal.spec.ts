import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { demo, orderNumbers, signIn } from "./fixtures";

const manifest = JSON.parse(readFileSync(new URL("../persisted-documents.json", import.meta.url), "utf8")) as Record<string, string>;
const trusted = new Set(Object.values(manifest));

test("a partner signs in with an API key kept in sessionStorage, never a cookie", async ({ page, context }) => {
  await page.goto("orders");
  await expect(page).toHaveURL(/\/portal\/sign-in\?next=/);
  await page.getByLabel("API key").fill("pgk_00000000_not-a-real-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("This API key was not accepted.");

  const sent: (string | null)[] = [];
  const documents: string[] = [];
  page.on("request", (request) => {
    if (!request.url().endsWith("/graphql")) return;
    sent.push(request.headers()["authorization"] ?? null);
    const body = request.postDataJSON() as { query?: string; documentId?: string };
    documents.push(body.documentId ? manifest[body.documentId.replace("sha256:", "")] : (body.query ?? ""));
  });
  await page.getByLabel("API key").fill(demo.customerKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/portal\/orders$/); // back where the visitor wanted to go
  await page.getByRole("link", { name: "Organization" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(demo.customerName);
  await expect(page.getByTestId("contacts").locator("tbody tr").first()).toBeVisible();

  expect(await page.evaluate(() => sessionStorage.getItem("partnergraph.apiKey"))).toBe(demo.customerKey);
  expect(await context.cookies()).toEqual([]);
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((header) => header === `Bearer ${demo.customerKey}`)).toBe(true);
  // Only trusted documents travel: each request is one of persisted-documents.json's, by text or id.
  expect(documents.every((document) => trusted.has(document))).toBe(true);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/portal\/sign-in/);
  expect(await page.evaluate(() => sessionStorage.getItem("partnergraph.apiKey"))).toBeNull();
});

test("orders page with cursors, forwards and back, and filter", async ({ page }) => {
  await signIn(page, demo.customerKey, demo.customerName);
  await page.getByRole("link", { name: "Orders" }).click();
  await expect(page.getByTestId("order-count")).toHaveText(`${demo.customerOrders} orders`);
  const previous = page.getByRole("button", { name: "← Previous" });
  const next = page.getByRole("button", { name: "Next →" });
  await expect(previous).toBeDisabled();
  const first = await orderNumbers(page);
  expect(first).toHaveLength(10);

  await next.click();
  await expect(page).toHaveURL(/after=/);
  await expect.poll(async () => (await orderNumbers(page))[0]).not.toBe(first[0]);
  const second = await orderNumbers(page);
  expect(second.filter((number) => first.includes(number))).toEqual([]);

  await previous.click();
  await expect(page).toHaveURL(/before=/);
  await expect.poll(() => orderNumbers(page)).toEqual(first);
  await expect(previous).toBeDisabled();

  // Status filter: every row shown has that status; a date range in the future has none.
  await page.getByLabel("Status").selectOption("DELIVERED");
  await expect(page).toHaveURL(/status=DELIVERED/);
  await expect(page.getByTestId("order-count")).not.toHaveText(`${demo.customerOrders} orders`);
  const statuses = await page.getByTestId("orders").locator("tbody tr td:nth-child(2)").allInnerTexts();
  expect(statuses.every((status) => status.trim().toLowerCase() === "delivered")).toBe(true);
  await page.getByLabel("Status").selectOption("");
  await page.getByLabel("Placed from").fill("2099-01-01");
  await expect(page.getByTestId("order-count")).toHaveText("0 orders");
});

test("a customer raises a complaint and a quality objection against an order line and follows them", async ({ page }) => {
  await signIn(page, demo.customerKey, demo.customerName);
  await page.goto(`orders/${encodeURIComponent(demo.customerOrderId)}`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Order ${demo.customerOrderNumber}`);
  await expect(page.getByTestId("lines").locator("tbody tr").first()).toBeVisible();

  const title = "Two cartons crushed on arrival"; // each run has a fresh database
  const form = page.getByRole("form", { name: "Raise a complaint or quality objection" });
  await form.getByLabel("Order line").selectOption({ index: 1 });
  await form.getByLabel("Severity").selectOption("HIGH");
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("What happened").fill("Two cartons crushed.");
  await form.getByRole("button", { name: "Raise" }).click();
  await expect(form.getByRole("status")).toHaveText(`Raised “${title}”: OPEN.`);
  const onOrder = page.getByTestId("order-service").locator("tr", { hasText: title });
  await expect(onOrder).toContainText("complaint");
  await expect(onOrder).toContainText("OPEN");
  // The complaint names the line it was raised against (the first line of the order).
  await expect(onOrder.locator("td").nth(2)).toHaveText("1");

  // A quality objection must name a line: without one the server's typed error is shown.
  const objection = "Cable cross-section under tolerance";
  await form.getByLabel("Kind").selectOption("objection");
  await form.getByLabel("Order line").selectOption("");
  await form.getByLabel("Title").fill(objection);
  await form.getByRole("button", { name: "Raise" }).click();
  await expect(form.getByRole("status")).toHaveText("A quality objection names an order line or a product.");
  await form.getByLabel("Order line").selectOption({ index: 1 });
  await form.getByRole("button", { name: "Raise" }).click();
  await expect(form.getByRole("status")).toHaveText(`Raised “${objection}”: OPEN.`);
  await expect(page.getByTestId("order-service").locator("tr", { hasText: objection })).toContainText("quality objection");

  await page.getByRole("link", { name: "Service" }).click();
  const listed = page.getByTestId("service-records").locator("tr", { hasText: title });
  await expect(listed).toContainText("OPEN");
  await expect(listed).toContainText(demo.customerOrderNumber);
});

test("a customer follows its shipments with carrier and tracking number", async ({ page }) => {
  await signIn(page, demo.customerKey, demo.customerName);
  await page.getByRole("link", { name: "Shipments" }).click();
  const rows = page.getByTestId("shipments").locator("tbody tr");
  await expect(rows.first()).toBeVisible();
  await expect(rows.first().locator("td").nth(2)).not.toHaveText("");
});

test("a supplier sees the order lines it fulfils, without prices", async ({ page }) => {
  await signIn(page, demo.supplierKey, demo.supplierName);
  await page.getByRole("link", { name: "Fulfilled lines" }).click();
  await expect(page.getByTestId("fulfilled-count")).toHaveText(`${demo.supplierLines} lines`);
  const rows = page.getByTestId("fulfilled-lines").locator("tbody tr");
  await expect(rows).toHaveCount(Math.min(10, demo.supplierLines));
  await rows.first().getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Order");
  await expect(page.getByTestId("lines")).not.toContainText("Unit price");
  await expect(page.getByRole("form", { name: "Raise a complaint or quality objection" })).toHaveCount(0);
});

test("a partner typing another partner's order id into the URL sees not found", async ({ page }) => {
  await signIn(page, demo.customerKey, demo.customerName);
  await page.goto(`orders/${demo.otherOrderId}`); // typed as is, not URL-encoded
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Order not found");
  await page.goto(`orders/${demo.customerOrderId}`);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Order ${demo.customerOrderNumber}`);
  await page.goto("orders/not-an-id");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Order not found");
});

test("an internal key is not a partner: the portal says so", async ({ page }) => {
  await page.goto("sign-in");
  await page.getByLabel("API key").fill(demo.adminKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("This key does not act for one partner organization.")).toBeVisible();
});
