import { expect, type Page } from "@playwright/test";

/** What scripts/test-e2e found in the demo data (as admin) and the partner keys it made. */
export const demo = {
  customerKey: need("E2E_CUSTOMER_KEY"),
  customerName: need("E2E_CUSTOMER_NAME"),
  customerOrders: Number(need("E2E_CUSTOMER_ORDERS")),
  customerOrderId: need("E2E_CUSTOMER_ORDER_ID"),
  customerOrderNumber: need("E2E_CUSTOMER_ORDER_NUMBER"),
  otherOrderId: need("E2E_OTHER_ORDER_ID"),
  supplierKey: need("E2E_SUPPLIER_KEY"),
  supplierName: need("E2E_SUPPLIER_NAME"),
  supplierLines: Number(need("E2E_SUPPLIER_LINES")),
  adminKey: need("E2E_ADMIN_KEY"),
};

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through scripts/test-e2e`);
  return value;
}

export async function signIn(page: Page, key: string, name: string): Promise<void> {
  await page.goto("sign-in");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("partner-name")).toHaveText(name);
}

/** The order numbers in the orders table, top to bottom. */
export async function orderNumbers(page: Page): Promise<string[]> {
  return page.getByTestId("orders").locator("tbody tr td:first-child").allInnerTexts();
}
