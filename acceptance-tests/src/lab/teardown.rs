//! Takes a lab down from its record, whoever started it: stops the hosts (containers or VMs),
//! deletes the veths or taps, namespaces and bridge, removes the run directory (with the VMs'
//! overlays), and forgets the record last.

use std::process::Child;

use super::Backend;
use super::error::{LabError, LabResult};
use super::mounts::remove_tree;
use super::network::{delete_link, delete_netns};
use super::nspawn;
use super::qemu;
use super::state::{self, RunRecord};

/// Tears down everything `record` names; `children` are the host processes if this process
/// started them (so they are reaped). Idempotent: what is already gone is skipped. Every step is
/// tried even when one fails; the record is kept when something is left, so `lab down` can retry.
pub(crate) fn teardown(record: &RunRecord, children: &mut [Option<Child>]) -> LabResult<()> {
    let mut problems = Vec::new();
    if let Err(problem) = check_names(record) {
        return Err(LabError::Teardown(vec![problem]));
    }
    match record.backend {
        Backend::Nspawn => nspawn::stop(record, children, &mut problems),
        Backend::Qemu => qemu::stop(record, children, &mut problems),
    }
    for machine in &record.machines {
        if let Err(error) = delete_link(&machine.veth) {
            problems.push(error.to_string());
        }
        if let Err(error) = delete_netns(&machine.netns) {
            problems.push(error.to_string());
        }
    }
    if let Err(error) = delete_link(&record.bridge) {
        problems.push(error.to_string());
    }
    if let Err(error) = remove_tree(&record.dir) {
        problems.push(error.to_string());
    }
    if !problems.is_empty() {
        return Err(LabError::Teardown(problems));
    }
    state::forget(record)
}

/// Refuses records whose names are not the ones its slot gives (a hand-edited or corrupt record
/// must never make teardown delete someone else's interface or directory).
fn check_names(record: &RunRecord) -> Result<(), String> {
    let slot = record.slot();
    let machines_match = record.machines.iter().enumerate().all(|(index, machine)| {
        machine.netns == slot.netns(index + 1)
            && machine.veth == slot.veth(index + 1)
            && machine.name == slot.netns(index + 1)
    });
    if record.run == slot.run_id()
        && record.bridge == slot.bridge()
        && machines_match
        && state::is_own_dir(record)
    {
        Ok(())
    } else {
        Err(format!(
            "record {} names things its slot does not own; remove them by hand",
            record.run
        ))
    }
}
