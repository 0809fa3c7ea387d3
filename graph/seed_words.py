"""Word lists and reference tables for the demo dataset (`graph.seed`): places, names,
products, carriers and the phrases that service records and interactions are written in.

Plain data, kept apart so the generator reads as logic. The order of every tuple matters:
the generator draws from them by position, so reordering changes the demo data.
"""

from __future__ import annotations

from typing import NamedTuple

# Tables read better one row per line than one item per line.
# fmt: off


class City(NamedTuple):
    city: str
    province: str
    postal_code: str
    country: str
    dial: str  # country and area code for phone numbers
    division: str  # Chinese administrative division code, used in registration numbers


REGION_CITIES: dict[str, tuple[City, ...]] = {
    "East China": (
        City("Shanghai", "Shanghai", "200120", "CN", "+86 21", "310115"),
        City("Suzhou", "Jiangsu", "215000", "CN", "+86 512", "320505"),
        City("Nanjing", "Jiangsu", "210000", "CN", "+86 25", "320114"),
        City("Wuxi", "Jiangsu", "214000", "CN", "+86 510", "320214"),
        City("Hangzhou", "Zhejiang", "310000", "CN", "+86 571", "330106"),
        City("Ningbo", "Zhejiang", "315000", "CN", "+86 574", "330206"),
        City("Qingdao", "Shandong", "266000", "CN", "+86 532", "370211"),
    ),
    "North China": (
        City("Beijing", "Beijing", "100000", "CN", "+86 10", "110108"),
        City("Tianjin", "Tianjin", "300000", "CN", "+86 22", "120116"),
        City("Shijiazhuang", "Hebei", "050000", "CN", "+86 311", "130104"),
        City("Taiyuan", "Shanxi", "030000", "CN", "+86 351", "140105"),
        City("Baotou", "Inner Mongolia", "014000", "CN", "+86 472", "150203"),
    ),
    "South China": (
        City("Guangzhou", "Guangdong", "510000", "CN", "+86 20", "440106"),
        City("Shenzhen", "Guangdong", "518000", "CN", "+86 755", "440305"),
        City("Dongguan", "Guangdong", "523000", "CN", "+86 769", "441900"),
        City("Foshan", "Guangdong", "528000", "CN", "+86 757", "440604"),
        City("Xiamen", "Fujian", "361000", "CN", "+86 592", "350206"),
        City("Nanning", "Guangxi", "530000", "CN", "+86 771", "450103"),
    ),
    "Central China": (
        City("Wuhan", "Hubei", "430000", "CN", "+86 27", "420111"),
        City("Changsha", "Hunan", "410000", "CN", "+86 731", "430104"),
        City("Zhengzhou", "Henan", "450000", "CN", "+86 371", "410105"),
        City("Nanchang", "Jiangxi", "330000", "CN", "+86 791", "360111"),
    ),
    "Southwest": (
        City("Chengdu", "Sichuan", "610000", "CN", "+86 28", "510107"),
        City("Chongqing", "Chongqing", "400000", "CN", "+86 23", "500112"),
        City("Kunming", "Yunnan", "650000", "CN", "+86 871", "530102"),
        City("Guiyang", "Guizhou", "550000", "CN", "+86 851", "520115"),
    ),
    "Northeast": (
        City("Shenyang", "Liaoning", "110000", "CN", "+86 24", "210106"),
        City("Dalian", "Liaoning", "116000", "CN", "+86 411", "210213"),
        City("Changchun", "Jilin", "130000", "CN", "+86 431", "220104"),
        City("Harbin", "Heilongjiang", "150000", "CN", "+86 451", "230103"),
    ),
    "Northwest": (
        City("Xi'an", "Shaanxi", "710000", "CN", "+86 29", "610113"),
        City("Lanzhou", "Gansu", "730000", "CN", "+86 931", "620102"),
        City("Urumqi", "Xinjiang", "830000", "CN", "+86 991", "650104"),
        City("Yinchuan", "Ningxia", "750000", "CN", "+86 951", "640104"),
    ),
    "Export": (
        City("Hamburg", "Hamburg", "20095", "DE", "+49 40", ""),
        City("Rotterdam", "South Holland", "3011", "NL", "+31 10", ""),
        City("Ho Chi Minh City", "Ho Chi Minh City", "700000", "VN", "+84 28", ""),
        City("Bangkok", "Bangkok", "10110", "TH", "+66 2", ""),
        City("Penang", "Penang", "10200", "MY", "+60 4", ""),
        City("Dubai", "Dubai", "00000", "AE", "+971 4", ""),
        City("Santos", "Sao Paulo", "11010", "BR", "+55 13", ""),
    ),
}
REGIONS = tuple(REGION_CITIES)
# Where customers are: the industrial east and south weigh most. Same order as REGIONS.
CUSTOMER_REGION_WEIGHTS = (30, 14, 22, 10, 8, 5, 4, 7)
SUPPLIER_REGION_WEIGHTS = (40, 10, 30, 8, 4, 2, 1, 5)

# -- company names ---------------------------------------------------------------------------

PINYIN_STEMS = (
    "Huadong", "Jinhai", "Hengtai", "Xinda", "Ruifeng", "Tianyu", "Zhongxing", "Hongsheng",
    "Yongxin", "Dingtai", "Lianchuang", "Kaiyuan", "Baosheng", "Fuda", "Guanghua", "Minghui",
    "Shengli", "Taihe", "Weida", "Xiangyun", "Yuanda", "Zhenghe", "Anping", "Chenguang",
    "Dongfang", "Haixin", "Jiahe", "Longteng", "Qiangsheng", "Sanhe", "Huaxia", "Jinlong",
    "Hongda", "Xinghuo", "Tongda", "Ruixiang", "Boyuan", "Changsheng", "Delong", "Fengyuan",
)
ENGLISH_STEMS = (
    "Northwind", "Bluewater", "Summit", "Pacific Rim", "Evergreen", "Silverline", "Crestview",
    "Ironbridge", "Harbourside", "Redstone", "Greenfield", "Westgate", "Eastbay", "Goldleaf",
    "Brightstar", "Orient", "Cathay", "Lotus", "Jade River", "Keystone", "Meridian", "Apex",
)
CUSTOMER_INDUSTRIES = (
    "Machinery", "Auto Parts", "Electrical Equipment", "Home Appliances", "Construction Engineering",
    "Shipbuilding", "Agricultural Machinery", "Environmental Technology", "New Energy",
    "Medical Devices", "Food Machinery", "Textile Machinery", "Rail Equipment", "Elevator",
    "HVAC Systems", "Printing Machinery", "Mining Equipment", "Water Treatment",
)
DISTRIBUTOR_INDUSTRIES = ("Logistics", "Supply Chain", "Trading", "Industrial Supply", "Distribution")

# -- addresses and people --------------------------------------------------------------------

STREET_NAMES = (
    "Renmin", "Zhongshan", "Jiefang", "Changjiang", "Huanghe", "Xinhua", "Jianshe", "Heping",
    "Kaifa", "Chuangye", "Keji", "Gongye", "Huayuan", "Binhe", "Taihu", "Jinqiao",
)
STREET_KINDS = ("Road", "Road", "Street", "Avenue", "East Road", "West Road", "North Road")
EXPORT_STREETS = ("Harbour Road", "Port Avenue", "Logistics Park", "Free Zone South", "Industrial Estate")

SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun",
    "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo", "Song", "Zheng", "Xie", "Han",
)
GIVEN_NAMES = (
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yang", "Yan", "Jie", "Tao",
    "Ming", "Chao", "Xiuying", "Hui", "Lina", "Hao", "Yu", "Ting", "Peng", "Bo", "Xin", "Lin",
    "Guiying", "Xiaoming", "Jianguo", "Haiyan", "Dan", "Kai",
)
FOREIGN_NAMES = (
    "Anna Weber", "Jan de Vries", "Nguyen Van An", "Somchai Wongsakul", "Ahmad Rahman",
    "Fatima Al Mansouri", "Lucas Oliveira", "Tran Thi Mai", "Kevin Tan", "Sarah Fischer",
    "Pieter Jansen", "Marcos Silva", "Omar Haddad", "Siti Aminah", "Niran Chaiyaporn",
)
CONTACT_TITLES = {
    "customer": ("Purchasing Manager", "Procurement Specialist", "Chief Engineer", "Finance Manager",
                 "General Manager", "Quality Manager", "Warehouse Supervisor", "Production Director"),
    "supplier": ("Sales Manager", "Key Account Manager", "Production Planner", "Quality Engineer",
                 "Export Manager"),
    "distributor": ("Operations Manager", "Logistics Coordinator", "Branch Manager", "Sales Director"),
}
CONTACT_NOTES = (
    "Prefers WeChat to e-mail.", "Reachable before 10:00 only.", "Speaks English.",
    "Approves all orders above 50,000 CNY.", "Back-up contact when the purchasing manager travels.",
    "Wants quotations as PDF with company chop.",
)
ORG_NOTES = (
    "Pays reliably, always on the last day of the terms.",
    "Negotiates hard on price at year end; decides by January.",
    "Decision maker is the general manager; purchasing only executes.",
    "Asked for consignment stock last year; declined.",
    "Orders all repeat items through the portal.",
    "Production line stops if we deliver late: escalate delays early.",
    "Export documents must be bilingual (English and Chinese).",
    "Compares us with two other suppliers every quarter.",
    "Group headquarters decides framework agreements; plant orders call-offs.",
)

# -- products --------------------------------------------------------------------------------


class ProductFamily(NamedTuple):
    name: str
    variants: tuple[str, ...]  # smallest (cheapest) first
    unit: str
    low: float  # list price range across the variants, CNY per unit
    high: float
    sku_prefix: str
    industry: str  # what the suppliers that make it call themselves
    description: str


PRODUCT_FAMILIES = (
    ProductFamily("Stainless Hex Bolt", ("M6", "M8", "M10", "M12", "M16", "M20"), "box", 35, 220, "HXB",
                  "Fasteners", "DIN 933 hex bolts, A2-70 stainless steel, box of 100."),
    ProductFamily("Carbon Steel Flange", ("DN50", "DN80", "DN100", "DN150", "DN200"), "pcs", 60, 640, "FLG",
                  "Forgings", "Weld-neck flange, PN16, ASTM A105."),
    ProductFamily("Hydraulic Pump", ("HP-100", "HP-200", "HP-350", "HP-500"), "pcs", 2800, 18500, "HYP",
                  "Hydraulics", "External gear pump for industrial hydraulic power units."),
    ProductFamily("Gear Motor", ("0.75kW", "1.5kW", "3kW", "5.5kW"), "pcs", 1200, 6800, "GMT",
                  "Electric Motors", "Helical gear motor, IE3 efficiency, 380 V."),
    ProductFamily("Deep Groove Ball Bearing", ("6204", "6205", "6206", "6308", "6310"), "pcs", 8, 95, "BRG",
                  "Bearings", "Sealed deep groove ball bearing, C3 clearance."),
    ProductFamily("Ball Valve", ("DN15", "DN25", "DN40", "DN50"), "pcs", 45, 420, "BLV",
                  "Valves", "Two-piece full-bore ball valve, CF8M body."),
    ProductFamily("PVC Pressure Pipe", ("D20", "D32", "D50", "D110"), "m", 3, 42, "PVC",
                  "Plastics", "PN10 PVC-U pressure pipe in 6 m lengths."),
    ProductFamily("Copper Power Cable", ("2.5mm2", "4mm2", "6mm2", "10mm2"), "m", 4, 46, "CBL",
                  "Cables", "YJV copper power cable, 0.6/1 kV."),
    ProductFamily("Aluminium Profile", ("2020", "3030", "4040", "4080"), "m", 12, 88, "ALP",
                  "Aluminium Extrusion", "6063-T5 T-slot extrusion, anodised."),
    ProductFamily("Cold Rolled Steel Sheet", ("0.8mm", "1.0mm", "1.5mm", "2.0mm"), "t", 4800, 6900, "CRS",
                  "Steel", "SPCC cold rolled coil, slit to width."),
    ProductFamily("Industrial Gear Oil", ("ISO VG68", "ISO VG150", "ISO VG220"), "L", 18, 62, "OIL",
                  "Lubricants", "Extreme-pressure industrial gear oil."),
    ProductFamily("PLC Controller", ("S-200", "S-400", "S-1200"), "pcs", 1500, 9800, "PLC",
                  "Automation", "Compact programmable logic controller."),
    ProductFamily("Inductive Proximity Sensor", ("M12 PNP", "M18 NPN", "M30 PNP"), "pcs", 45, 260, "SNS",
                  "Automation", "Flush-mount inductive sensor, IP67."),
    ProductFamily("Corrugated Carton", ("Small", "Medium", "Large"), "pcs", 1.2, 6.5, "CTN",
                  "Packaging", "Five-ply corrugated shipping carton."),
    ProductFamily("Epoxy Primer", ("Grey", "Red Oxide", "Zinc-Rich"), "kg", 25, 68, "EPX",
                  "Coatings", "Two-component anti-corrosion epoxy primer."),
    ProductFamily("O-Ring Kit", ("NBR", "FKM", "EPDM"), "set", 90, 380, "ORK",
                  "Rubber Products", "Assorted metric O-rings in a case."),
    ProductFamily("Conveyor Belt", ("B500", "B650", "B800"), "m", 180, 650, "CVB",
                  "Rubber Products", "EP fabric conveyor belt, four plies."),
    ProductFamily("MIG Welding Wire", ("0.8mm", "1.0mm", "1.2mm"), "kg", 9, 16, "WLD",
                  "Welding Materials", "ER70S-6 copper-coated welding wire, 15 kg spools."),
    ProductFamily("Frequency Inverter", ("2.2kW", "7.5kW", "15kW"), "pcs", 1800, 9200, "INV",
                  "Electrical Equipment", "Vector-control frequency inverter, 380 V."),
    ProductFamily("Gray Iron Pump Housing", ("PH-80", "PH-120", "PH-160"), "pcs", 350, 1300, "PHS",
                  "Precision Castings", "HT250 gray iron casting, machined and pressure tested."),
)
# Plain names first; the series only appear when the catalogue is large.
PRODUCT_SERIES = ("", " Pro", " Heavy Duty", " Economy", " Marine Grade", " High Temp", " Compact", " Export")
SERIES_PRICE_FACTOR = (1.0, 1.25, 1.35, 0.8, 1.4, 1.3, 0.95, 1.1)

# -- orders and shipments --------------------------------------------------------------------

CARRIERS = ("SF Express", "JD Logistics", "ZTO", "Deppon")
CARRIER_WEIGHTS = (30, 25, 20, 25)
EXPORT_CARRIER = "DHL"
TRANSIT_DAYS = {"SF Express": (1, 2), "JD Logistics": (1, 3), "ZTO": (2, 4), "Deppon": (3, 6), "DHL": (4, 9)}

ORDER_NOTES = (
    "Deliver to gate 3, loading dock B.", "Urgent: customer's line stops without these parts.",
    "Call the warehouse one hour before delivery.", "Partial delivery accepted.",
    "Invoice to group headquarters.", "Pack on fumigated pallets.", "Quote the PO number on the delivery note.",
)
CANCEL_NOTES = (
    "Cancelled by the customer: project postponed.", "Cancelled: duplicate of an earlier order.",
    "Cancelled: price not accepted.", "Cancelled: credit check failed.",
)

# -- contracts -------------------------------------------------------------------------------

PRICE_TERMS = (
    "List price less {d}% volume discount; prices fixed for 12 months.",
    "Prices fixed per quarter; raw-material surcharge above 5% steel index movement.",
    "Net prices per attached price list; annual review in December.",
    "List price less {d}%; additional 2% rebate above 1,000,000 CNY yearly volume.",
)
PAYMENT_TERMS = (
    "Net 30 days from invoice.", "Net 60 days from invoice.", "Monthly statement, payment within 90 days.",
    "30% advance, 70% before shipment.", "Bank acceptance draft, 6 months.",
)
EXPORT_PAYMENT_TERMS = ("Irrevocable letter of credit at sight.", "30% T/T advance, balance against copy B/L.")
SERVICE_TERMS = (
    "Response within 24 hours; engineer on site within 72 hours; 12-month warranty.",
    "Telephone support on working days; spare parts shipped within 48 hours.",
    "Quarterly preventive maintenance visit; 18-month warranty on pumps and motors.",
    "Quality objections answered within 5 working days; replacement or credit note at our choice.",
)

# -- service records -------------------------------------------------------------------------

VISIT_PURPOSES = (
    "Quarterly business review and next year's volume forecast.", "Present the new product range.",
    "Follow up on the open quality objection.", "Negotiate the framework agreement renewal.",
    "Introduce the new account owner.", "Plant tour and review of their production plan.",
    "Discuss payment delays and the credit limit.", "Collect feedback on delivery performance.",
)
VISIT_FEEDBACK = (
    "Satisfied with quality; wants shorter lead times on pumps.",
    "Plans to increase volume by about 20% next year.",
    "Complained about two late deliveries last quarter; promised a logistics review.",
    "Evaluating a competitor on price; asked for a revised quotation.",
    "New plant opening in the second half; invited us to tender.",
    "Purchasing manager is leaving; met the successor.",
    "Asked for consignment stock for fast movers.",
)
SERVICE_REQUESTS = (
    "Installation support for {product}", "Quotation for spare parts of {product}",
    "Calibration of {product}", "Operator training for {product}", "Copy of material certificate for {product}",
    "Technical drawing for {product}", "Replacement manual for {product}",
)
SERVICE_RESOLUTIONS = (
    "Engineer visited and completed the work.", "Documents sent by e-mail.",
    "Spare parts quoted and ordered.", "Remote support session solved the issue.",
)
COMPLAINTS = (
    "Wrong quantity delivered on {order}", "Damaged packaging on {order}",
    "Invoice for {order} does not match the quotation", "Delivery note missing on {order}",
)
UNTIED_COMPLAINTS = (
    "Sales rep does not answer calls", "Portal login fails repeatedly", "Quotations take too long",
    "Driver refused to unload at the dock",
)
COMPLAINT_RESOLUTIONS = (
    "Apologised; credit note issued.", "Process corrected and confirmed with the customer.",
    "Missing items delivered free of charge.", "Explained the cause; customer accepted.",
)
DEFECTS = (
    "surface rust on arrival", "thread out of tolerance", "cracks in the casting", "leaking seal",
    "dimensions out of specification", "wrong material certificate", "paint peeling after two weeks",
    "noise and vibration in operation",
)
QUALITY_RESOLUTIONS = (
    "Supplier confirmed the defect; batch replaced.",
    "8D report received from the supplier; credit note issued.",
    "Defect caused by improper storage at the customer; no compensation.",
    "Parts reworked on site by our engineer.",
)
NO_COMPENSATION = QUALITY_RESOLUTIONS[2]
SURVEY_COMMENTS = {
    "low": ("Deliveries are often late.", "Too many quality problems this year.",
            "Nobody follows up on complaints."),
    "mid": ("Acceptable, but prices are high.", "Quality fine, communication could be better.",
            "Portal is hard to use."),
    "high": ("Reliable partner.", "Very responsive sales team.", "Good quality and fast delivery."),
}

# -- interactions ----------------------------------------------------------------------------

INTERACTION_TOPICS = (
    "the delivery schedule for next month", "a price adjustment for next quarter",
    "the quality certificate for {product}", "a payment reminder for last month's invoices",
    "samples of {product}", "the open quality objection", "the forecast for the coming quarter",
    "a quotation for {product}", "the framework agreement renewal", "a change of delivery address",
    "stock availability of {product}", "the credit limit",
)
INTERACTION_OUTCOMES = (
    "", "", " Agreed to follow up next week.", " Sent a revised quotation.", " Customer will confirm by e-mail.",
    " Escalated to the service team.",
)
# (inbound, outbound) wording per channel, keyed by the channel's value.
INTERACTION_VERBS = {
    "call": ("Customer called about", "Called the customer about"),
    "email": ("E-mail from the customer about", "E-mailed the customer about"),
    "fax": ("Fax received about", "Faxed the customer about"),
    "message": ("WeChat message from the customer about", "Messaged the customer about"),
    "meeting": ("Customer visited our plant to discuss", "Meeting at the customer's office on"),
}

# fmt: on
