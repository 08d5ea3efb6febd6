#!/usr/bin/env bash
# Rebuilds examples/demo, the small CRM the README's quick start runs on, through
# crm's own commands (so it is always valid). Run from anywhere:
#   bash examples/build_demo.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
demo="$here/demo"
crm="${CRM:-crm}"
rm -rf "$demo"
export CRM_NOW="2026-11-02T09:00:00+08:00" CRM_USER=alice
unset CRM_DIR
$crm init "$demo" --name "Demo Trading Co." >/dev/null
cat > "$demo/crm.yaml" <<'YAML'
# Settings of this CRM. Edit by hand; a missing key takes its default.
name: "Demo Trading Co."
currency: CNY            # default currency for amounts
timezone: Asia/Shanghai  # IANA zone; null: the machine's local zone
default_region: CN       # for phone numbers written without +country
user: null               # the acting user (else env CRM_USER, git user.name, login)
owners: [alice, bob]     # the salespeople
approvers: [alice]       # who may approve deals below the price floor
sources: [website, referral, trade-show, email, phone, event]
pipeline:                # open stages in order; won and lost are implied
  - {stage: new, probability: 10}
  - {stage: qualified, probability: 25}
  - {stage: proposal, probability: 50}
  - {stage: negotiation, probability: 75}
products:
  - {sku: PUMP-100, name: Centrifugal pump, price: 1200.00, floor: 1000.00}
  - {sku: VALVE-20, name: Ball valve DN20, price: 85.50, floor: 70.00}
  - {sku: SVC-YEAR, name: Service contract (1 year), price: 6000.00, floor: 5000.00}
max_discount: 15         # percent below list price allowed without approval
big_deal: 100000         # deals at or above this amount are flagged
stall_days: 14           # no change for this long: a stalled deal
commit_probability: 70   # forecast: stages at or above this count as commit
git: {autocommit: false}
company:                 # the seller on quotes and orders
  name: Demo Trading Co.
  address: "88 Century Avenue, Pudong, Shanghai 200120"
  country: CN
  tax_id: 91310115MA1K4XXXXX
  bank: "Bank of China Shanghai Branch, account 4567 8901 2345"
  email: sales@demo-trading.example
  footer: "Demo Trading Co. · prices in CNY · payment 30 days net"
taxes: {default: 13, prices: net, SVC-YEAR: 6}   # percent; VAT 13 %, services 6 %
YAML
c() { $crm --dir "$demo" "$@"; }
id() { c "$@" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

acme=$(id customer add "Acme Pumps GmbH" --email info@acme-pumps.de --phone "+49 30 1234567" \
  --website acme-pumps.de --industry manufacturing --source trade-show --tag key-account)
c customer contact add "$acme" "Anna Schmidt" --title Purchasing --email anna.schmidt@acme-pumps.de >/dev/null
bj=$(id customer add "北京华泰机械有限公司" --email sales@huatai-jx.cn --phone "010 8888 9999" \
  --industry machinery --source referral --owner bob --tag 重点客户)
c customer contact add "$bj" "张伟" --title 采购经理 --phone 13800138000 >/dev/null
sh=$(id customer add "上海明达贸易" --email order@mingda.cn --source website --owner bob)
wang=$(id customer add "王芳" --kind person --phone 13912345678 --source phone)
nord=$(id customer add "Nordic Water AB" --email hello@nordicwater.se --phone "+46 8 555 123 45" \
  --source email --tag export)
c customer edit "$acme" --cadence 30d --billing-address "Industriestr. 5, 30159 Hannover" \
  --country DE --tax-id DE811234567 >/dev/null
c customer edit "$bj" --billing-address "北京市朝阳区建国路 88 号" --country CN \
  --tax-id 91110105MA01XXXXXX >/dev/null
c customer note "$acme" "Met Anna at Hannover Messe; they replace 40 pumps next year." >/dev/null
c customer note "$bj" "张经理希望下周收到报价。" >/dev/null

d1=$(id deal add "Pump replacement 2027" --customer "$acme" --line PUMP-100:40 --close 2026-12-15)
c deal move "$d1" qualified >/dev/null
c deal move "$d1" proposal >/dev/null
d2=$(id deal add "华泰 阀门年度采购" --customer "$bj" --owner bob --line VALVE-20:500:68 --close 2026-11-30)
c deal move "$d2" qualified >/dev/null
d3=$(id deal add "Service contract" --customer "$nord" --line SVC-YEAR:1 --close 2026-10-31 --currency CNY)
c deal won "$d3" >/dev/null
d4=$(id deal add "明达 试订单" --customer "$sh" --owner bob --amount 4500 --close 2026-11-10)
c deal lost "$d4" --reason "Chose a cheaper local supplier" >/dev/null
d5=$(id deal add "Nordic pump pilot" --customer "$nord" --line PUMP-100:2 --stage negotiation --close 2026-12-20)

c task add "Send the pump quote to Anna" --customer "$acme" --due "2026-11-05 17:00" --kind email --priority high >/dev/null
c task add "给张经理打电话" --deal "$d2" --owner bob --due "2026-11-04 10:00" --kind call >/dev/null
c task add "Weekly pipeline review" --due "2026-11-06 09:00" --every 1w >/dev/null
c task add "Valve leaking after install" --customer "$nord" --kind complaint --severity high --due 2026-11-03 >/dev/null
c task add "Visit the Beijing plant" --customer "$bj" --owner bob --due 2026-12-01 --kind meeting >/dev/null
c task add "Thank-you call" --customer "$wang" --due 2026-11-01 --kind call >/dev/null

cat > "$demo/../demo-cards.csv" <<'CSV'
Name,Company,Title,Email,Mobile
Li Na,Shenzhen Flow Tech,Engineer,li.na@szflow.cn,13700001111
Tom Baker,Baker Irrigation,Owner,tom@bakerirrigation.com,+1 415 555 0100
陈静,杭州水务,采购,chenjing@hzsw.cn,13600002222
CSV
c lead import "$demo/../demo-cards.csv" --source trade-show --tag messe-2026 >/dev/null
rm "$demo/../demo-cards.csv"
c lead add "Maria Rossi" --company "Idraulica Rossi" --email maria@idraulicarossi.it --source website --owner bob >/dev/null
c lead status "Tom Baker" contacted >/dev/null
c lead convert "Li Na" --deal "Shenzhen pilot" --amount 24000 >/dev/null
rm -rf "$demo/.crm"
echo "Built $demo"
